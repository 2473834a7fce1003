"""A fleet of simulated wearables: N devices at 1 Hz, some with an irregular rhythm.

Each device has a deterministic Ed25519 key (from a seed and its index), so a rerun speaks for the
same devices; `onboard` registers them to patients in the record store. Readings are signed one by
one or in batches (`batch_size` readings per signature), and written to a queue sink. In real time
(`realtime=True`) each device emits one reading a second; otherwise the same timestamps are
produced as fast as possible (the benchmark's pre-filled queue). A replay file (JSON lines of
{"device": i, "heartrate": x, "rr": [...]}) replaces the heart model.

Real wearables are not synchronised: each reads at its own millisecond within the second, and a
batching device sends its batch at its own second within the batch period. A staggered fleet
(the default) draws both per device, so windows fall due spread over time as they do in the field;
`stagger=False` gives the worst case, every device reading and sending at the same instant.

Every reading declares the device's `signal`. The heart model yields beat-to-beat intervals, so a
fleet sends "rr" unless told otherwise; an hr-only fleet ("hr_instantaneous": the rate of the last
beat, "hr_averaged": the rate averaged over the second's beats, as most watches report) sends no
intervals at all.
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
from services.ingest.reading import SIGNALS, Reading, sign_batch, sign_reading


@dataclass
class SimulatedDevice:
    index: int
    key: DeviceKey
    irregular: bool
    model: HeartModel
    owner: str  # the patient's address (0x...), to whom onboarding registers the device
    seq: int = 0
    phase_ms: int = 0  # when within each second this device reads
    batch_phase: int = 0  # which second of the batch period it sends its batch in
    signal: str = "rr"  # what it sends: intervals, or a heart rate only (reading.SIGNALS)

    def sends_batch_after(self, second: int, batch_size: int) -> bool:
        return (second + self.batch_phase) % batch_size == batch_size - 1

    @property
    def user_id(self) -> str:
        return self.key.user_id


def make_fleet(count: int, irregular_fraction: float = 0.1, seed: str = "pulseledger",
               start_seq: int = 0, stagger: bool = True,
               signal: str = "rr") -> list[SimulatedDevice]:
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {', '.join(SIGNALS)}")
    fleet = []
    irregular_count = round(count * irregular_fraction)
    for index in range(count):
        key = DeviceKey.from_seed(hashlib.sha256(f"{seed}/device/{index}".encode()).digest())
        rng = random.Random(f"{seed}/{index}")
        irregular = index < irregular_count
        owner = "0x" + hashlib.sha256(f"{seed}/patient/{index}".encode()).hexdigest()[:40]
        phases = random.Random(f"{seed}/{index}/phase")
        fleet.append(SimulatedDevice(index, key, irregular, HeartModel(rng, irregular), owner,
                                     start_seq, phases.randrange(1000) if stagger else 0,
                                     phases.randrange(1 << 30) if stagger else 0, signal))
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
        if device.signal != "rr":  # an hr-only device: a rate, never the intervals
            if device.signal == "hr_instantaneous" and rr:
                heartrate = round(60_000 / rr[-1], 1)
            rr = []
        device.seq += 1
        out.append((device, Reading(device.user_id, heartrate, ts_ms + device.phase_ms,
                                    device.seq, tuple(rr), device.signal)))
    return out


def signed_messages(fleet: list[SimulatedDevice], seconds: int, start_ms: int,
                    batch_size: int = 1, replay: dict | None = None) -> Iterator[tuple[int, list[bytes]]]:
    """Yield (second, messages due that second), in the order the devices read; a device sends
    its batch in its own second of the batch period (the first and last batch may be short)."""
    pending: dict[int, list[Reading]] = {}
    for second in range(seconds):
        due = []
        readings = readings_for_second(fleet, start_ms + second * 1000, replay)
        readings.sort(key=lambda pair: pair[1].ts_ms)
        for device, reading in readings:
            if batch_size <= 1:
                due.append(sign_reading(device.key, reading))
                continue
            batch = pending.setdefault(device.index, [])
            batch.append(reading)
            if device.sends_batch_after(second, batch_size):
                due.append(sign_batch(device.key, batch))
                pending[device.index] = []
        if second == seconds - 1:
            for index, batch in pending.items():
                if batch:
                    due.append(sign_batch(fleet[index].key, batch))
        yield second, due


def send_paced(sink, per_second: Iterator[tuple[int, list[bytes]]], begin: float) -> None:
    """Send each second's messages in real time from `begin` (wall clock): in tenths of the
    second, each after its readings were taken (the messages are in reading order)."""
    for second, messages in per_second:
        for tenth in range(10):
            part = messages[len(messages) * tenth // 10:len(messages) * (tenth + 1) // 10]
            time.sleep(max(0.0, begin + second + (tenth + 1) / 10 - time.time()))
            if part:
                sink.send(part)


def run(sink, fleet: list[SimulatedDevice], seconds: int, batch_size: int = 1,
        realtime: bool = True, replay: dict | None = None, start_ms: int | None = None) -> int:
    """Write the fleet's readings to the sink; returns how many readings were written."""
    begin = time.time()
    if start_ms is None:
        start_ms = int(begin * 1000) if realtime else int(begin * 1000) - seconds * 1000
    messages = signed_messages(fleet, seconds, start_ms, batch_size, replay)
    if realtime:
        send_paced(sink, messages, begin)
    else:
        for _, due in messages:
            if due:
                sink.send(due)
    if replay is None:
        return len(fleet) * seconds
    return seconds * sum(1 for d in fleet if replay.get(d.index % max(1, len(replay))))
