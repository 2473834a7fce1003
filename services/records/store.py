"""The record store, written once over `Tables` (SQLite or Firestore): what every backend shares.

This module holds the parts every concern uses (keys and how a missing one is told apart from an
erased one, integrity failures, locating a record by id) plus onboarding and the change stream.
Windows and batches, bundles, dead letters and erasure each have their own module, mixed in here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from services.records import validation as v
from services.records.base import (
    MIN_CHANGES_RETENTION_S,
    ChainIdentity,
    Change,
    Conflict,
    CursorExpired,
    Device,
    Doctor,
    InvalidInput,
    KeyMissing,
    Profile,
    RecordErased,
    RecordNotFound,
    RecordsError,
    RecordStore,
    TamperDetected,
)
from services.records.integrity import (
    KEY_MISSING,
    TAMPERED,
    AlertSink,
    IntegrityAlert,
    IntegrityMonitor,
    log,
)
from services.records.keystore import Envelope, Keyring
from services.records.store_bundles import VERIFIED_DIGESTS, BundlesMixin
from services.records.store_dead_letters import DeadLettersMixin
from services.records.store_email_confirmations import EmailConfirmationsMixin
from services.records.store_erasure import ErasureMixin
from services.records.store_windows import WindowsMixin
from services.records.tables import TABLE_KEYS, NewChange, Row, Tables, Write
from services.runtime.bounded_cache import BoundedCache

RECORD_TABLES = ("windows", "bundles", "dead_letters")


class Store(WindowsMixin, BundlesMixin, DeadLettersMixin, ErasureMixin, EmailConfirmationsMixin,
            RecordStore):
    """One chain's record store over one backend's tables. Safe to share between threads."""

    def __init__(
        self,
        tables: Tables,
        chain: ChainIdentity,
        keyring: Keyring | None,
        *,
        on_alert: AlertSink | None = None,
    ) -> None:
        if tables.namespace != chain.namespace:
            raise ValueError("the tables belong to another chain namespace")
        self.tables = tables
        self.chain = chain
        self.namespace = chain.namespace
        self.keys = tables.keys
        self.envelope = Envelope(keyring, tables.keys)
        self.integrity = IntegrityMonitor(on_alert)
        # bundle id -> (key_ref, sha256) checked against its ciphertext (store_bundles.py)
        self.verified_digests = BoundedCache(VERIFIED_DIGESTS)

    def location(self) -> str:
        return self.tables.location()

    # ----------------------------------------------------------------- shared by every concern
    def _locate(self, record_id: str) -> tuple[str, Row]:
        """(table, row) of a window, bundle or dead letter."""
        if isinstance(record_id, str) and record_id:
            for table in RECORD_TABLES:
                row = self.tables.get(table, record_id)
                if row is not None:
                    return table, row
        raise RecordNotFound(f"no record {record_id}")

    def _data_key(self, table: str, row: Row) -> bytes:
        """The record's data key. Gone: erased if the journal says so, else `KeyMissing`."""
        record_id = row[TABLE_KEYS[table]]
        wrapped = self.keys.get(row["key_ref"])
        if wrapped is None:
            if self.tables.is_journaled(record_id):
                raise RecordErased(f"record {record_id} was erased: its key is destroyed")
            raise self._failure(table, row, KEY_MISSING,
                                "the record key is gone but the erasure journal does not list it")
        try:
            return self.envelope.ring.unwrap(wrapped)
        except TamperDetected:
            raise self._failure(table, row, TAMPERED, "the wrapped key failed authentication")

    def _failure(self, table: str, row: Row, problem: str, detail: str) -> RecordsError:
        """Alert, flag a window, and return the error to raise for this one record."""
        record_id = row[TABLE_KEYS[table]]
        self.integrity(IntegrityAlert(record_id, problem, detail, table))
        if table == "windows" and row.get("flag") != problem:
            self._set_flag(row, problem)
        error = KeyMissing if problem == KEY_MISSING else TamperDetected
        return error(f"{detail} (record {record_id})")

    def _set_flag(self, row: Row, flag: str | None) -> None:
        """Flag a window (out of the anchoring queue) or clear its flag (back in, if not yet
        anchored). Best effort: failing to note it must not hide the failure being reported."""
        sound = flag is None and row.get("erased_ms") is None
        fields = {"flag": flag, "pending": sound and not row.get("anchored")}
        change = NewChange(row["owner"], "window_flagged", row["record_id"]) if flag else None
        try:
            self.tables.commit([Write("update", "windows", row["record_id"], fields)],
                               [change] if change else [])
        except Exception:  # noqa: BLE001 - reported by the caller's own error and the alert
            log.exception("could not flag window %s", row["record_id"])

    # ------------------------------------------------------------------------- onboarding
    def register_device(self, device_id: str, owner: str, public_key: bytes) -> None:
        device_id, owner = v.device_id(device_id), v.address(owner, "owner")
        public_key = v.public_key(public_key)

        def register(txn) -> None:
            current = txn.get("devices", device_id)
            if current is not None and current["owner"] != owner:
                raise Conflict("device is registered to another owner")
            registered = current["registered_ms"] if current else v.now_ms()
            txn.write(Write("set", "devices", device_id, {
                "owner": owner, "public_key": public_key, "registered_ms": registered}))
            txn.change(NewChange(owner, "device_registered", device_id))

        self.tables.transact(register)

    def unregister_device(self, device_id: str, owner: str) -> bool:
        device_id, owner = v.device_id(device_id), v.address(owner, "owner")
        removed = []

        def unregister(txn) -> None:
            removed.clear()
            current = txn.get("devices", device_id)
            if current is None or current["owner"] != owner:
                return  # not this owner's: nothing to do, and nothing said about whose it is
            txn.write(Write("delete", "devices", device_id))
            txn.change(NewChange(owner, "device_unregistered", device_id))
            removed.append(device_id)

        self.tables.transact(unregister)
        return bool(removed)

    def get_device(self, device_id: str) -> Device | None:
        if not v.is_device_id(device_id):
            return None  # a malformed id names no device (callers dead-letter the reading)
        row = self.tables.get("devices", device_id)
        return _device(row) if row else None

    def get_devices(self, device_ids: list[str]) -> dict[str, Device]:
        """get_device for many ids in one read (a storage peer checks every window of a
        round); ids that are malformed or name no device are left out."""
        wanted = [d for d in dict.fromkeys(device_ids) if v.is_device_id(d)]
        rows = self.tables.get_many("devices", wanted) if wanted else {}
        return {device_id: _device(row) for device_id, row in rows.items()}

    def devices_of(self, owner: str) -> list[Device]:
        rows = self.tables.rows_where("devices", "owner", v.address(owner, "owner"))
        return sorted((_device(r) for r in rows), key=lambda d: d.device_id)

    def set_contacts(self, owner: str, emails: list[str]) -> None:
        owner = v.address(owner, "owner")
        if not isinstance(emails, list | tuple):
            raise InvalidInput("contacts are a list of email addresses")
        clean = list(dict.fromkeys(v.email(e) for e in emails))
        self.tables.commit([Write("set", "contacts", owner, {"emails": clean})],
                           [NewChange(owner, "contacts_set")])

    def get_contacts(self, owner: str) -> list[str]:
        row = self.tables.get("contacts", v.address(owner, "owner"))
        return list(row["emails"]) if row else []

    def link_doctor(self, owner: str, doctor_address: str, doctor_email: str | None) -> None:
        owner = v.address(owner, "owner")
        fields = {"address": v.address(doctor_address, "doctor address"),
                  # "" (not None): the column is NOT NULL in stores made before confirmations
                  "email": "" if doctor_email is None else v.email(doctor_email)}
        self.tables.commit([Write("set", "doctors", owner, fields)],
                           [NewChange(owner, "doctor_linked")])

    def set_profile(self, owner: str, name: str | None, time_zone: str) -> None:
        owner = v.address(owner, "owner")
        fields = {"name": v.display_name(name), "time_zone": v.time_zone(time_zone)}
        self.tables.commit([Write("set", "profiles", owner, fields)],
                           [NewChange(owner, "profile_set")])

    def get_profile(self, owner: str) -> Profile:
        row = self.tables.get("profiles", v.address(owner, "owner"))
        return Profile(row["name"], row["time_zone"]) if row else Profile(None)

    def get_doctor(self, owner: str) -> Doctor | None:
        row = self.tables.get("doctors", v.address(owner, "owner"))
        return Doctor(row["address"], row["email"] or None) if row else None

    def patients_of_doctor(self, doctor_address: str) -> list[str]:
        address = v.address(doctor_address, "doctor address")
        return sorted(r["owner"] for r in self.tables.rows_where("doctors", "address", address))

    # ------------------------------------------------------------------------ change stream
    def changes_since(self, owner: str, since: str | None, limit: int = 100) -> list[Change]:
        owner, limit = v.address(owner, "owner"), int(limit)
        if limit <= 0:
            return []
        rows = self.tables.changes_after(owner, since, limit)
        # checked after the read: a trim between the two is caught, not served as a gap
        if since is not None and self.tables.cursor_expired(since):
            raise CursorExpired(f"changes after cursor {since} are no longer all kept")
        return [_change(owner, r) for r in rows]

    def latest_cursor(self, owner: str) -> str | None:
        return self.tables.latest_cursor(v.address(owner, "owner"))

    def trim_changes(self, before_ms: int) -> int:
        if int(before_ms) > v.now_ms() - MIN_CHANGES_RETENTION_S * 1000:
            raise InvalidInput(f"changes are kept at least {MIN_CHANGES_RETENTION_S} s")
        return self.tables.trim_changes(int(before_ms))

    def watch(
        self, owner: str, since: str | None = None, *, stop: threading.Event | None = None
    ) -> Iterator[Change]:
        owner = v.address(owner, "owner")
        stop = stop or threading.Event()
        after = since if since is not None else self.tables.latest_cursor(owner)
        for row in self.tables.follow_changes(owner, after, stop):
            yield _change(owner, row)

    def keyed_digest(self, label: bytes, data: bytes) -> bytes:
        return self.envelope.ring.digest(label, data)

    def close(self) -> None:
        self.tables.close()


def _device(row: Row) -> Device:
    return Device(row["device_id"], row["owner"], bytes(row["public_key"]))


def _change(owner: str, row: dict[str, Any]) -> Change:
    return Change(row["cursor"], owner, row["kind"], row.get("record_id"), row["at_ms"])
