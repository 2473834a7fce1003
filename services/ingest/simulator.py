"""A fleet of simulated wearables: N devices at 1 Hz, some with an irregular rhythm.

Each device has a deterministic Ed25519 key (from a seed and its index), so a rerun speaks for the
same devices; `onboard` registers them to patients in the record store. Readings are signed one by
one or in batches (`batch_size` readings per signature), and written to a queue sink. In real time
(`realtime=True`) each device emits one reading a second; otherwise the same timestamps are
produced as fast as possible (the benchmark's pre-filled queue). A replay file (JSON lines of
{"device": i, "heartrate": x, "rr": [...]}) replaces the heart model.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.ingest.device_identity import DeviceKey
from services.ingest.heart_model import HeartModel
from services.ingest.reading import Reading, sign_batch, sign_reading


@dataclass
class SimulatedDevice:
    index: int
    key: DeviceKey
    irregular: bool
    model: HeartModel
    owner: str  # the patient's address (0x...), to whom onboarding registers the device
    seq: int = 0

    @property
    def user_id(self) -> str:
        return self.key.user_id


def make_fleet(count: int, irregular_fraction: float = 0.1, seed: str = "pulseledger",
               start_seq: int = 0) -> list[SimulatedDevice]:
    fleet = []
    irregular_count = round(count * irregular_fraction)
    for index in range(count):
        key = DeviceKey.from_seed(hashlib.sha256(f"{seed}/device/{index}".encode()).digest())
        rng = random.Random(f"{seed}/{index}")
        irregular = index < irregular_count
        owner = "0x" + hashlib.sha256(f"{seed}/patient/{index}".encode()).hexdigest()[:40]
        fleet.append(SimulatedDevice(index, key, irregular, HeartModel(rng, irregular), owner,
                                     start_seq))
    return fleet


def onboard(fleet: list[SimulatedDevice], store, contacts: bool = True) -> None:
    """Register each device to its patient (idempotent in the record store), with a contact
    address and a linked doctor on a reserved test domain (so alerts have somewhere to go)."""
    for device in fleet:
        store.register_device(device.user_id, device.owner, device.key.public_bytes)
        if contacts:
            store.set_contacts(device.owner, [f"patient{device.index}@example.test"])
            store.link_doctor(device.owner, "0x" + "d0" * 20, "doctor@example.test")


def load_replay(path: Path) -> dict[int, list[tuple[float, list[int]]]]:
    per_device: dict[int, list[tuple[float, list[int]]]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            per_device.setdefault(int(row["device"]), []).append(
                (float(row["heartrate"]), [int(x) for x in row.get("rr", [])]))
    return per_device


def readings_for_second(fleet: list[SimulatedDevice], ts_ms: int,
                        replay: dict | None = None) -> list[tuple[SimulatedDevice, Reading]]:
    out = []
    for device in fleet:
        if replay is not None:
            rows = replay.get(device.index % max(1, len(replay)), [])
            if not rows:
                continue
            heartrate, rr = rows[device.seq % len(rows)]
        else:
            heartrate, rr = device.model.second()
        device.seq += 1
        out.append((device, Reading(device.user_id, heartrate, ts_ms, device.seq, tuple(rr))))
    return out


def signed_messages(fleet: list[SimulatedDevice], seconds: int, start_ms: int,
                    batch_size: int = 1, replay: dict | None = None) -> Iterator[tuple[int, list[bytes]]]:
    """Yield (second, messages due that second); a batch goes out when it is full."""
    pending: dict[int, list[Reading]] = {}
    for second in range(seconds):
        due = []
        for device, reading in readings_for_second(fleet, start_ms + second * 1000, replay):
            if batch_size <= 1:
                due.append(sign_reading(device.key, reading))
                continue
            batch = pending.setdefault(device.index, [])
            batch.append(reading)
            if len(batch) >= batch_size:
                due.append(sign_batch(device.key, batch))
                pending[device.index] = []
        if second == seconds - 1:
            for index, batch in pending.items():
                if batch:
                    due.append(sign_batch(fleet[index].key, batch))
        yield second, due


def run(sink, fleet: list[SimulatedDevice], seconds: int, batch_size: int = 1,
        realtime: bool = True, replay: dict | None = None, start_ms: int | None = None) -> int:
    """Write the fleet's readings to the sink; returns how many readings were written."""
    begin = time.time()
    if start_ms is None:
        start_ms = int(begin * 1000) if realtime else int(begin * 1000) - seconds * 1000
    written = 0
    for second, messages in signed_messages(fleet, seconds, start_ms, batch_size, replay):
        if realtime:
            time.sleep(max(0.0, begin + second - time.time()))
        if messages:
            sink.send(messages)
        written += len(fleet) if replay is None else sum(
            1 for d in fleet if replay.get(d.index % max(1, len(replay))))
    return written
