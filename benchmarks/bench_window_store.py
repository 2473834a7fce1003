"""An aggregator's window-store writes in the live stream's pattern → benchmarks/window_store.json.

The window store's one writer is what the all-in-one peer's masters queue on
(docs/decisions/2026-12-07-writer-bound-masters.md), so its cost a reading is measured here
apart from the rest of the pipeline: DEVICES wearables, each sending its last ten seconds as one
message in its own second of ten (the simulator's pattern, services/ingest/simulator.py), taken
in CALLS ingest calls a second on the ingest process's connection (with its checkpoints beside
the calls, services/peers/ingest_process.py); every ten seconds the loop's connection marks the
windows that fell due `closing`, reads them, and marks them closed, 1,000 at a time as a close
round does. Figures count from WARM_S on (the indexes hold some history by then).

The same stream runs on the layout before 2026-12-07 too (readings keyed by (device, seq),
WITHOUT ROWID, in 4-kB pages), so the choice stays measured
(docs/decisions/2026-12-07-readings-in-arrival-order.md). Best of ROUNDS, alternated. One
core, no network; `machine_reference_ms` (benchmarks/machine_speed.py) says how fast it was.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from machine_speed import reference_ms

from services.peers.ingest_process import CheckpointsBesideCalls
from services.peers.roles.aggregation import LOOP_CHECKPOINT_BYTES
from services.peers.window_store import CLOSING, WindowStore, digests_of

OUT = Path(__file__).with_name("window_store.json")
DEVICES = 10_000
SECONDS = 60
WARM_S = 20
CALLS = 3
CLOSE_CHUNK = 1_000  # windows a close round marks at once (close_batch_max's order)
ROUNDS = 2
KEY = b"bench-window-store-digest-key-00"
RR = [812, 790, 845, 830, 801, 799, 820, 835, 808, 815]
T0_MS = 1_700_000_000_000


def device(i: int) -> str:
    return f"bench-device-{i:05d}"


def messages_of(second: int) -> list[dict]:
    """The readings the devices whose turn it is send this second: each its last ten."""
    return [{"userId": device(i), "seq": second - 9 + k, "ts_ms": T0_MS + (second - 9 + k) * 1000,
             "heartrate": float(60 + (i + k) % 40), "rr": RR}
            for i in range(second % 10, DEVICES, 10) for k in range(10)]


def before_layout(path: Path) -> None:
    """A file as the store made it before 2026-12-07 (4-kB pages, readings keyed by device),
    at today's version: no upgrade runs when the stream opens it."""
    made = sqlite3.connect(path)
    made.executescript("PRAGMA page_size = 4096; CREATE TABLE made (x); DROP TABLE made;")
    made.close()
    WindowStore(path, 10_000, KEY).close()  # keeps the 4-kB pages the file has
    db = sqlite3.connect(path)
    db.executescript("""
        DROP TABLE readings;
        CREATE TABLE readings (device TEXT, seq INTEGER, window_start INTEGER, ts INTEGER,
            content BLOB, digest TEXT, att TEXT, signal TEXT,
            PRIMARY KEY (device, seq)) WITHOUT ROWID;
        CREATE INDEX readings_window ON readings (device, window_start);""")
    db.close()


def stream(path: Path) -> dict:
    """µs a reading the stream's writes took, by kind, and the file's size at the end."""
    worker = WindowStore(path, 10_000, KEY)
    worker.checkpoint_after(0)
    checkpoints = CheckpointsBesideCalls(path)
    loop = WindowStore(path, 10_000, KEY)
    loop.checkpoint_after(LOOP_CHECKPOINT_BYTES)
    seconds = {"ingest": 0.0, "mark_closing": 0.0, "mark_closed": 0.0}
    measured = 0
    for second in range(SECONDS):
        readings = messages_of(second)
        digests = digests_of(readings, KEY)
        size = -(-len(readings) // CALLS)
        spent = {key: 0.0 for key in seconds}
        for start in range(0, len(readings), size):
            began = time.perf_counter()
            checkpoints.before_call()
            worker.ingest(readings[start:start + size], digests=digests[start:start + size])
            checkpoints.after_call()
            spent["ingest"] += time.perf_counter() - began
        if second % 10 == 9 and second >= 29:  # every device's window of 20 s ago is in
            window = worker.window_of(T0_MS + (second - 20) * 1000)
            due = [(device(i), window) for i in range(DEVICES)]
            for start in range(0, len(due), CLOSE_CHUNK):
                chunk = due[start:start + CLOSE_CHUNK]
                began = time.perf_counter()
                loop.mark(chunk, CLOSING)
                spent["mark_closing"] += time.perf_counter() - began
                read = loop.readings_of(chunk)
                began = time.perf_counter()
                loop.mark_closed(read)
                spent["mark_closed"] += time.perf_counter() - began
        if second >= WARM_S:
            measured += len(readings)
            for key, value in spent.items():
                seconds[key] += value
    checkpoints.finish()
    out = {key: value * 1e6 / measured for key, value in seconds.items()}
    out["writer"] = sum(out.values())
    out["file_mb"] = path.stat().st_size / 1e6
    out["page_size"] = worker.page_size
    worker.close()
    loop.close()
    return out


def main() -> None:
    reference = reference_ms()
    best: dict[str, dict] = {}
    for _ in range(ROUNDS):
        for layout in ("now", "before"):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "aggregator.db"
                if layout == "before":
                    before_layout(path)
                figures = stream(path)
            kept = best.get(layout)
            if kept is None or figures["writer"] < kept["writer"]:
                best[layout] = figures
    out = {}
    for layout, prefix in (("now", "window_store"), ("before", "window_store_before")):
        figures = best[layout]
        for kind in ("ingest", "mark_closing", "mark_closed", "writer"):
            out[f"{prefix}_{kind}_us_per_reading"] = round(figures[kind], 2)
        out[f"{prefix}_file_mb"] = round(figures["file_mb"])
        out[f"{prefix}_page_size"] = figures["page_size"]
    out["window_store_writer_vs_before"] = round(
        best["now"]["writer"] / best["before"]["writer"], 3)
    out["window_store_devices"] = DEVICES
    out["machine_reference_ms"] = reference
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
