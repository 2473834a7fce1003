"""Shared helpers for the peer tests: a fleet with its expected outcome, node settings with every
deadline small, and counting what reached the record store."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import trio

from services.alerts import AlertSettings
from services.ingest.device_identity import DeviceKey
from services.ingest.reading import Reading, b64, canonical, sign_reading
from services.ingest.settings import IngestSettings
from services.ingest.simulator import make_fleet, onboard, signed_messages
from services.peers.backends import records_settings
from services.peers.settings import PeersSettings
from services.records import open_store
from services.records.window_payload import validate_window_payload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # pulseledger_testkit, as conftest
from pulseledger_testkit.admission import admit, master_attestations

# An episode on the first irregular window: the pipeline tests see an alert for every irregular user.
ALERT_ON_FIRST_IRREGULAR = AlertSettings(k=1, n=1)
FAST = {
    # presence budget 20/s: up to 5 peers keep the 0.25 s interval; 8 announce every 0.4 s.
    "presence_interval_s": 0.25, "presence_timeout_s": 2.0, "presence_budget_per_s": 20.0,
    "reconnect_interval_s": 0.25,
    "rpc_timeout_s": 3.0, "grace_ms": 2_000, "idle_close_s": 6.0, "quiet_flush_s": 1.5,
    "close_tick_s": 0.1, "rebalance_interval_s": 0.25, "anchor_interval_s": 0.5,
    "master_idle_poll_s": 0.02, "master_settle_s": 0.5,
    "admission_timeout_s": 3.0, "revocation_poll_s": 0.25,
}


async def wait_for(predicate, timeout_s: float, poll_s: float = 0.1) -> bool:
    """Poll until the predicate holds; False if it did not within timeout_s."""
    with trio.move_on_after(timeout_s):
        while not predicate():
            await trio.sleep(poll_s)
        return True
    return False


def peer_settings(data_dir: Path, name: str, roles, bootstrap=(), granted=None,
                  **overrides) -> PeersSettings:
    """Settings for a peer admitted by the test operator with `granted` roles (default: the
    roles it runs)."""
    admit(data_dir, name, tuple(roles) if granted is None else tuple(granted))
    return PeersSettings(data_dir=data_dir, name=name, roles=tuple(roles),
                         bootstrap=tuple(bootstrap),
                         **{**FAST, "alerts": ALERT_ON_FIRST_IRREGULAR, **overrides})


def ingest_settings(data_dir: Path, **overrides) -> IngestSettings:
    return IngestSettings(queue_path=data_dir / "queue.db", **{"lock_s": 2.0, **overrides})


def open_test_store(data_dir: Path):
    """The store the peers with this data_dir open (same deployments-file lookup)."""
    return open_store(records_settings(data_dir, PeersSettings(data_dir=data_dir).deployments_path()))


class Workload:
    """Valid readings (some delivered twice) and invalid messages of every kind."""

    def __init__(self, data_dir: Path, devices: int = 6, seconds: int = 25, batch_size: int = 5,
                 seed: str = "test"):
        self.store = open_test_store(data_dir)
        self.fleet = make_fleet(devices, irregular_fraction=0.34, seed=seed)
        onboard(self.fleet, self.store)
        start_ms = int(time.time() * 1000) - seconds * 1000
        self.valid_messages: list[bytes] = []
        for _, messages in signed_messages(self.fleet, seconds, start_ms, batch_size):
            self.valid_messages += messages
        self.valid_keys = set()
        for message in self.valid_messages:
            body = json.loads(message)
            for r in body.get("batch") or [body["reading"]]:
                self.valid_keys.add((r["userId"], r["seq"]))
        self.invalid_messages = self._invalid(start_ms)

    def _invalid(self, start_ms: int) -> list[bytes]:
        device = self.fleet[0]
        stranger = DeviceKey.from_seed(b"\x09" * 32)
        body = Reading(device.user_id, 70.0, start_ms + 500, 10_000_001, (850,)).to_json()
        replay = Reading(device.user_id, 99.0, start_ms + 1500, 1, (600,))  # seq 1 exists
        return [
            b"{broken",
            json.dumps({"reading": body}).encode(),  # unsigned
            json.dumps({"reading": body, "sig": b64(stranger.sign(canonical(body)))}).encode(),
            sign_reading(stranger, Reading(stranger.user_id, 70.0, start_ms, 1)),  # unknown
            sign_reading(device.key, Reading(device.user_id, 500.0, start_ms, 10_000_002)),
            sign_reading(device.key, Reading(device.user_id, 70.0, 5, 10_000_003)),  # too old
            sign_reading(device.key, replay),  # same seq as a real reading, other content
        ]

    def all_messages(self) -> list[bytes]:
        # The first ten valid messages twice: redeliveries, to be stored once.
        return self.valid_messages + self.invalid_messages + self.valid_messages[:10]


def stored_windows(store, owners) -> list[dict]:
    out = []
    for owner in owners:
        for meta in store.list_windows(owner, limit=100_000):
            # every window the pipeline stores is in the one record format (docs/records.md)
            out.append(validate_window_payload(store.get_window(meta.record_id)))
    return out


def stored_keys(store, owners) -> Counter:
    counted = Counter()
    for payload in stored_windows(store, owners):
        for reading in payload["readings"]:
            counted[(payload["device_id"], reading["seq"])] += 1
    return counted


def dead_letter_reasons(store, kind: str = "reading") -> list[str]:
    return [d.reason for d in store.dead_letters(kind)]


def attested_window(device: str, seqs, start_ms: int = 1_700_000_000_000) -> dict:
    """A window as an aggregator sends it to storage, its readings attested by an admitted
    master (one reading a second from `start_ms`)."""
    readings = [{"seq": s, "ts_ms": start_ms + s * 1000, "heartrate": 70.0 + s, "rr": [850]}
                for s in seqs]
    return {"device_id": device, "window_start_ms": start_ms, "readings": readings,
            "prediction": {"status": "regular"},
            "attestations": master_attestations([{**r, "userId": device} for r in readings])}
