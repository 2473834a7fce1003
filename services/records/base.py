"""The record store: one small interface, the dataclasses it speaks, and the errors it raises.

`RecordStore` is implemented once, by `services.records.store.Store`, over a narrow table interface
per backend (SQLite file, Firestore: `services.records.tables`). What it keeps:

- window records: one 10-second window (readings + prediction) of one patient, encrypted as one
  unit with its own AES-256-GCM key; idempotent on (device_id, window_start_ms);
- batches: the Merkle root (anchored on-chain by storage peers) and each member's inclusion proof;
- sellable records: bundles registered on-chain (pointer + sha256 of the ciphertext);
- onboarding data: devices, contact emails, a linked doctor (contact data, never logged);
- dead letters: what could not be processed, with the reason (payload kept encrypted);
- a change stream per owner, for live views.

Integrity: the sha256 of each ciphertext is the anchored value. Reads take the anchor from the
caller (`expected_root` for windows, `expected_hash` for bundles): the chain check belongs to the
gateway. A mismatch raises `TamperDetected` and nothing is returned; a key gone without an
erasure raises `KeyMissing` (not `RecordErased`). Either costs only that record: it is alerted,
a window is flagged (`WindowMeta.flag`) and lists go on without it.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from threading import Event
from typing import Any, Self

# --------------------------------------------------------------------------------------- errors


class RecordsError(Exception):
    """Base class of every error the record store raises on purpose."""


class InvalidInput(RecordsError, ValueError):
    """The caller passed something malformed (bad address, empty id, ...); nothing was stored."""


class RecordNotFound(RecordsError, KeyError):
    """No record with that id in this chain's namespace."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "record not found"


class RecordErased(RecordsError):
    """The record's key was destroyed (crypto-shredding): nobody can decrypt it again (HTTP 410)."""


class TamperDetected(RecordsError):
    """Ciphertext, nonce, tag, associated data or proof does not match its anchor; nothing served."""


class KeyMissing(RecordsError):
    """The record's key is gone although the erasure journal does not list the record: lost or
    deleted behind the store's back, not erased (restore the key backup). Nothing served."""


class StoreNotFound(RecordsError):
    """No record store for this chain namespace where the settings point, and the caller asked
    not to create one (operator commands never open a fresh, empty namespace by accident)."""


class NotAnchored(RecordsError):
    """An anchor was required but the record has none yet (window not in a batch)."""


# The change log is kept at least this long whatever the retention setting: a cursor younger than
# this is never expired, so a backend need not look its trim horizon up for a fresh one.
MIN_CHANGES_RETENTION_S = 86_400


class CursorExpired(RecordsError):
    """The change stream no longer holds every change after this cursor: older changes are
    trimmed after the retention period (docs/records.md, "The change log"). Start again from
    the latest cursor (or from the start of what is kept) and reload what the stream fed."""


class Conflict(RecordsError):
    """The write contradicts what is stored (a device owned by someone else, a batch re-rooted...)."""


class WindowPartsFull(InvalidInput):
    """A window already has as many parts as the store keeps (add_to_window): `readings` are
    the ones of this write that no part holds, for the caller to park."""

    def __init__(self, message: str, readings: list):
        super().__init__(message)
        self.readings = readings


# ------------------------------------------------------------------------------ chain identity


@dataclass(frozen=True)
class ChainIdentity:
    """Which chain a store belongs to. Another identity means another, fresh namespace."""

    chain_id: int
    genesis_hash: str
    contracts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, deployments: Any) -> ChainIdentity:
        """The identity of a deployment (services.chain.deployments.Deployments): its chain id,
        genesis hash and every deployed contract's address. The one place it is built from one."""
        return cls(deployments.chain_id, deployments.genesis_hash,
                   {name: c.address for name, c in deployments.contracts.items()})

    def canonical(self) -> dict[str, Any]:
        return {
            "chain_id": int(self.chain_id),
            "genesis_hash": self.genesis_hash.lower(),
            "contracts": {k: v.lower() for k, v in sorted(self.contracts.items())},
        }

    @property
    def namespace(self) -> str:
        """A short stable name safe for directories and Firestore ids: `c<chain id>-<16 hex>`."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":")).encode()
        return f"c{int(self.chain_id)}-{hashlib.sha256(blob).hexdigest()[:16]}"


# --------------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Device:
    device_id: str  # libp2p-style peer id
    owner: str  # patient address, lower-case 0x-hex
    public_key: bytes  # raw Ed25519 public key (32 bytes)


@dataclass(frozen=True)
class Doctor:
    address: str  # lower-case 0x-hex
    email: str | None  # None until the doctor's mailbox confirmed it (nothing is sent before)


@dataclass(frozen=True)
class PendingEmail:
    """An address a patient named that has not confirmed it wants their emails yet."""

    owner: str  # the patient, lower-case 0x-hex
    email: str
    purpose: str  # "contact" (the patient's alerts) or "doctor" (the linked doctor's)
    doctor: str | None  # for "doctor": the doctor's address it was named with
    expires_ms: int


@dataclass(frozen=True)
class Profile:
    """How the patient wants to be named (to their doctor, in emails) and their time zone."""

    name: str | None
    time_zone: str = "UTC"  # IANA


@dataclass(frozen=True)
class WindowRef:
    record_id: str
    ciphertext_sha256: bytes  # 32 bytes: the Merkle leaf material
    created: bool  # False when the window already existed and nothing was stored


@dataclass(frozen=True)
class WindowInput:
    """One window for `put_windows` (the batch form of `put_window`)."""

    owner: str
    device_id: str
    window_start_ms: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class WindowMeta:
    """What can be listed without decrypting anything."""

    record_id: str
    owner: str
    device_id: str
    window_start_ms: int
    ciphertext_sha256: bytes
    created_ms: int
    batch_root: bytes | None  # the anchored batch it belongs to, if any
    erased: bool
    # an integrity problem found on this window ("tampered", "key_missing"), None when sound:
    # lists show it flagged instead of failing (see docs/records.md, "Failing small and loudly")
    flag: str | None = None
    # its batch root was anchored on-chain (as the storage peer recorded it): readers then
    # check the chain; a batch built but not yet anchored is checked like an unbatched window
    anchored: bool = False


@dataclass(frozen=True)
class Batch:
    root: bytes
    record_ids: tuple[str, ...]
    anchor_tx: str | None  # None: built but not (yet) anchored on-chain
    created_ms: int


@dataclass(frozen=True)
class SellableRecord:
    """A bundle registered on-chain: `recordId`, `pointer`, `ciphertextHash`, data class, version."""

    bundle_id: str  # 0x + 64 hex (bytes32 recordId)
    owner: str
    pointer: str  # "ipfs://<cid>" or "records://<namespace>/bundles/<bundle id>"
    ciphertext_sha256: bytes
    data_class: int
    version: int
    created_ms: int
    erased: bool = False


@dataclass(frozen=True)
class DeadLetter:
    id: str
    kind: str
    payload: bytes | None  # decrypted on read; None when erased
    payload_digest: bytes  # HMAC-SHA256 under a master-derived key, not a bare sha256
    reason: str
    at_ms: int


@dataclass(frozen=True)
class Change:
    """One event of an owner's change stream. `cursor` resumes the stream after this event."""

    cursor: str
    owner: str
    kind: str  # see CHANGE_KINDS
    record_id: str | None
    at_ms: int


# A reader's check of a bundle's metadata, run by the store on the row it then reads; it raises
# to refuse the record before anything is fetched or decrypted.
BundleVet = Callable[[SellableRecord], None]

CHANGE_KINDS = (
    "window_added",
    "window_erased",
    "window_anchored",
    "bundle_added",
    "bundle_erased",
    "device_registered",
    "contacts_set",
    "doctor_linked",
    "window_flagged",
)

# A check the gateway passes in: given a batch root, is it anchored on-chain (with enough
# confirmations)? The store calls it after the proof checks out; False → TamperDetected.
AnchorCheck = Callable[[bytes], bool]


# ---------------------------------------------------------------------------------- interface


class RecordStore(ABC):
    """One chain's record store. Safe to share between threads. Close it when done."""

    chain: ChainIdentity

    # ---- onboarding (contact data: stored as is, never logged)
    @abstractmethod
    def register_device(self, device_id: str, owner: str, public_key: bytes) -> None:
        """Idempotent for the same owner (re-keying allowed); another owner → `Conflict`.
        `owner` is the patient's 0x address; `public_key` 32 raw bytes (or their hex)."""

    @abstractmethod
    def unregister_device(self, device_id: str, owner: str) -> bool:
        """Unpair: the device is no longer `owner`'s (its stored windows stay theirs); its
        readings are refused from now on, until someone pairs it again. False (nothing done)
        when it is not registered to `owner`."""

    @abstractmethod
    def get_device(self, device_id: str) -> Device | None:
        """None for an unknown or malformed device id."""

    @abstractmethod
    def devices_of(self, owner: str) -> list[Device]: ...

    @abstractmethod
    def set_contacts(self, owner: str, emails: list[str]) -> None:
        """Replaces the owner's contact list."""

    @abstractmethod
    def get_contacts(self, owner: str) -> list[str]: ...

    @abstractmethod
    def link_doctor(self, owner: str, doctor_address: str, doctor_email: str | None) -> None:
        """Links the doctor; `doctor_email` None: no address confirmed yet (nothing is sent to
        the doctor until `confirm_email` sets one)."""

    # ---- addresses waiting for their mailbox's confirmation (store_email_confirmations.py)
    @abstractmethod
    def add_email_confirmation(self, token_sha256: str, pending: PendingEmail) -> None:
        """Remembers `pending` under the digest of the secret emailed to it."""

    @abstractmethod
    def pending_emails(self, owner: str, now_ms: int) -> list[PendingEmail]:
        """The owner's addresses still waiting for confirmation (expired ones left out)."""

    @abstractmethod
    def drop_email_confirmations(self, owner: str, purpose: str,
                                 keep: frozenset[str] = frozenset()) -> int:
        """Forgets the owner's waiting addresses of `purpose` but those in `keep` (and every
        expired one); returns how many were forgotten."""

    @abstractmethod
    def stop_emails(self, owner: str, email: str) -> bool:
        """The address's owner said stop: it leaves the contacts and, if it is the linked
        doctor's, the doctor keeps access with no email; its waiting links die. False when it
        got nothing from this owner anyway."""

    @abstractmethod
    def cancel_email_confirmation(self, token_sha256: str) -> None:
        """Forgets one (its email never went out); none there is fine."""

    @abstractmethod
    def confirm_email(self, token_sha256: str, now_ms: int) -> PendingEmail | None:
        """The mailbox confirmed: a contact joins the owner's contacts, a doctor's address
        becomes the linked doctor's email (if that doctor is still the one linked). None: no
        such confirmation, expired, or its doctor is no longer linked. Each works once."""

    @abstractmethod
    def get_doctor(self, owner: str) -> Doctor | None: ...

    @abstractmethod
    def set_profile(self, owner: str, name: str | None, time_zone: str) -> None: ...

    @abstractmethod
    def get_profile(self, owner: str) -> Profile: ...

    @abstractmethod
    def patients_of_doctor(self, doctor_address: str) -> list[str]: ...

    # ---- window records
    @abstractmethod
    def put_window(
        self, owner: str, device_id: str, window_start_ms: int, payload: dict[str, Any]
    ) -> WindowRef:
        """Encrypt `payload` (readings + prediction) as one record.

        Idempotent on (device_id, window_start_ms): a second put returns the existing ref with
        `created=False` and stores nothing, even under concurrent writers.
        """

    @abstractmethod
    def put_windows(self, windows: Sequence[WindowInput]) -> list[WindowRef]:
        """Batch form of `put_window` (one transaction per backend batch); same idempotency."""

    @abstractmethod
    def add_to_window(self, window: WindowInput) -> tuple[WindowRef, int] | None:
        """The readings of `window` that no stored part of it holds, stored as its next part
        (a record of its own); (that part's ref, how many readings) or None when nothing is
        missing or the window was erased. Each reading ends in exactly one part, even under
        concurrent writers. Raises `TamperDetected`/`KeyMissing` when a part fails its checks.
        """

    @abstractmethod
    def conflicting_readings(self, window: WindowInput) -> list[dict]:
        """The readings of `window` whose seq a stored part holds with other content (a replay):
        `add_to_window` leaves them out; the caller parks them."""

    @abstractmethod
    def get_window(
        self,
        record_id: str,
        *,
        expected_root: bytes | None = None,
        anchor_check: AnchorCheck | None = None,
    ) -> dict[str, Any]:
        """Verify, then decrypt. Always checks the stored sha256 and the GCM tag.

        `expected_root`: the record must be in that batch and its proof must lead there.
        `anchor_check`: called with the record's batch root; must return True.
        Either one given and the record not batched → `NotAnchored`.
        Raises `RecordNotFound`, `RecordErased`, `TamperDetected`, `NotAnchored`.
        """

    @abstractmethod
    def window_meta(self, record_id: str) -> WindowMeta: ...

    @abstractmethod
    def list_windows(
        self, owner: str, since_ms: int | None = None, limit: int = 100
    ) -> list[WindowMeta]:
        """The owner's windows by window_start_ms ascending, from `since_ms` (inclusive)."""

    @abstractmethod
    def list_windows_of_owners(
        self, owners: list[str], since_ms: int, until_ms: int
    ) -> list[WindowMeta]:
        """Every window of these owners with since_ms <= window_start_ms < until_ms, each
        owner's by window_start_ms ascending: one read for many owners where the backend can
        (a notification peer catching up a round's users)."""

    # ---- batches (Merkle roots anchored on-chain via anchorBatch(root, leafCount))
    @abstractmethod
    def record_batch(
        self,
        root: bytes,
        record_ids: list[str],
        proofs: list[list[bytes]],
        anchor_tx: str | None,
    ) -> None:
        """Store a batch and each member's proof (checked against `root` first: `InvalidInput`).

        A record already in an anchored batch cannot move to another root (`Conflict`). Calling
        again with the same root and a tx hash marks it anchored.
        """

    @abstractmethod
    def mark_batch_anchored(self, root: bytes, anchor_tx: str) -> None: ...

    @abstractmethod
    def get_batch(self, root: bytes) -> Batch | None: ...

    @abstractmethod
    def proof_of(self, record_id: str) -> tuple[bytes, list[bytes]] | None:
        """(root, proof) of the record's batch, or None if not batched."""

    @abstractmethod
    def pending_unbatched(self, limit: int) -> list[WindowRef]:
        """Windows not yet in an anchored batch, oldest first (refs carry created=False). Each
        is authenticated first: an inauthentic one is flagged and left out (so fewer may come
        back), a wrong stored hash of an authentic one is repaired."""

    def pending_count(self, limit: int = 1000) -> int:
        """How many windows wait for an anchored batch, counted up to `limit`, unchecked."""
        raise NotImplementedError

    def flagged_windows(self, limit: int = 100) -> list[WindowMeta]:
        """Windows carrying an integrity flag (tampered, key missing)."""
        raise NotImplementedError

    # ---- sellable records (bundles registered on-chain)
    @abstractmethod
    def put_bundle(
        self,
        owner: str,
        bundle_id: str,
        data_class: int,
        plaintext: bytes,
        *,
        version: int = 1,
        blobs: Any | None = None,
    ) -> SellableRecord:
        """Encrypt a bundle with its own key. The ciphertext goes to `blobs` (a BlobStore:
        pointer `ipfs://<cid>`) or into this store (pointer `records://...`). Register the returned
        pointer and `ciphertext_sha256` on-chain. A new version re-encrypts under a new key."""

    @abstractmethod
    def get_bundle(
        self, bundle_id: str, *, expected_hash: bytes | None = None, blobs: Any | None = None,
        vet: BundleVet | None = None,
    ) -> bytes:
        """Verify against `expected_hash` (the registry's ciphertextHash), then decrypt. `vet`,
        if given, sees the metadata of the row read (erased or not) before anything else and
        may refuse it by raising."""

    @abstractmethod
    def bundle_meta(self, bundle_id: str) -> SellableRecord: ...

    def sealed_bundle(
        self, bundle_id: str, *, expected_hash: bytes | None = None, blobs: Any | None = None,
        vet: BundleVet | None = None,
    ) -> tuple[bytes, bytes]:
        """(sealed ciphertext, GCM associated data) of a bundle, verified against `expected_hash`
        like `get_bundle` but not decrypted: what a programmatic buyer decrypts with the record
        key the gateway wraps to them (ECIES). Raises `RecordErased` once erased (added for the
        gateway; backends override it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot hand out sealed bundles yet")

    @abstractmethod
    def record_key(self, record_id: str) -> bytes:
        """The raw 32-byte data key of a window or bundle, for wrapping to a buyer (ECIES).
        Raises `RecordErased` after erasure. Never log it."""

    def keyed_digest(self, label: bytes, data: bytes) -> bytes:
        """HMAC-SHA256 of `data` under a key derived from the master key for `label`: stable
        while the master key is, unguessable without it (per-purchase subject pseudonyms)."""
        raise NotImplementedError(f"{type(self).__name__} has no keyed digest")

    # ---- dead letters
    @abstractmethod
    def dead_letter(self, kind: str, payload: bytes, reason: str) -> str:
        """Keep what could not be processed; payload encrypted at rest. Returns its id, which is
        derived from (kind, payload, reason): the same failure redelivered is stored once."""

    @abstractmethod
    def dead_letters(self, kind: str | None = None, limit: int | None = None) -> list[DeadLetter]:
        """Oldest first (all, or the first `limit`); a letter that cannot be opened is listed
        without its payload and alerted. Retired letters are not listed."""

    @abstractmethod
    def retire_dead_letter(self, kind: str, payload: bytes, reason: str) -> bool:
        """What the letter of (kind, payload, reason) held was processed after all: its key
        goes and the letter is no longer listed, and a later write of the same letter makes
        none, until the retirement is purged. True if there was a letter to retire."""

    @abstractmethod
    def purge_retired_letters(self, before_ms: int) -> int:
        """Forget the retirements made before `before_ms` (the same letter may then be written
        again); returns how many."""

    # ---- erasure, key management
    @abstractmethod
    def erase(self, record_id: str) -> None:
        """Crypto-shred a window, bundle or dead letter: destroy its key. Idempotent."""

    @abstractmethod
    def reapply_erasures(self) -> int:
        """Erase again every record in the erasure journal that has a key (after restoring a
        backup taken before those erasures). Returns how many keys were destroyed."""

    @abstractmethod
    def rotate_master_key(self, new_master_key: bytes) -> int:
        """Re-wrap every record key under `new_master_key` (ciphertexts untouched); returns how
        many keys were re-wrapped. Afterwards the store uses the new key; keep the old one until
        your settings point at the new one."""

    # ---- change stream
    @abstractmethod
    def changes_since(self, owner: str, since: str | None, limit: int = 100) -> list[Change]:
        """Non-blocking: changes after cursor `since` (None: from the beginning of what is
        kept). CursorExpired when changes after `since` may have been trimmed."""

    @abstractmethod
    def latest_cursor(self, owner: str) -> str | None: ...

    @abstractmethod
    def trim_changes(self, before_ms: int) -> int:
        """Delete every owner's changes stamped before `before_ms` (the retention's horizon);
        returns how many. A cursor older than what is kept then raises CursorExpired."""

    @abstractmethod
    def watch(
        self, owner: str, since: str | None = None, *, stop: Event | None = None
    ) -> Iterator[Change]:
        """Blocking stream of the owner's changes after `since` (None: only new ones). Ends when
        `stop` is set or the generator is closed."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
