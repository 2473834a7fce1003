"""Where the all-in-one peer pipeline spends its CPU, per reading (not a test, not a benchmark).

Builds the all-in-one peer of benchmarks/bench_pipeline.py (every role in one process, the same
tuning), pre-fills a short backlog (PROFILE_DEVICES × PROFILE_SECONDS readings), drains it under
cProfile — the trio thread and every worker thread trio.to_thread runs (storage writes, the
model, queue operations), timed by each thread's CPU clock (waits and GIL hand-offs do not count,
so threads are not double-charged) — and prints the top costs as shares of all profiled CPU time
and as µs per reading. On a shared machine compare shares between runs, not wall time; the wall rate printed
at the end is for orientation only (and slower under the profiler).

    uv run python tools/profile_pipeline.py            # 1,000 devices × 20 s = 20,000 readings
    PROFILE_DEVICES=500 PROFILE_SECONDS=10 PROFILE_TOP=40 uv run python tools/profile_pipeline.py
    PROFILE_OFF=1 uv run python tools/profile_pipeline.py   # no profiler: the drain rate alone
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_pipeline

from services.ingest.settings import IngestSettings
from services.peers.admission.local import admit_locally
from services.peers.node import PeerNode
from services.peers.settings import ALL_ROLES, PeersSettings

DEVICES = int(os.environ.get("PROFILE_DEVICES", "1000"))
SECONDS = int(os.environ.get("PROFILE_SECONDS", "20"))
TOP = int(os.environ.get("PROFILE_TOP", "30"))
PROFILE = not os.environ.get("PROFILE_OFF")

# Concerns a reading's cost is attributed to (cumulative time of these functions).
CONCERNS = {
    "validation (device signature, schema)": ("validation.py", "validate_message"),
    "attest (master signs)": ("attestation.py", "attest"),
    "attestation check (storage)": ("attestation.py", "window_attested"),
    "digest_of (keyed HMAC)": ("window_store.py", "digest_of"),
    "window store ingest": ("window_store.py", "ingest"),
    "window store merge (replica)": ("window_store.py", "merge"),
    "agg._attestations (JSON of docs)": ("aggregation_ingest.py", "_attestations"),
    "replication receipt (replica signs)": ("aggregation_ingest.py", "_receipt"),
    "replication receipt check (master)": ("receipts.py", "covered"),
    "readings_of + attestations_of": ("window_store.py", "_over_windows"),
    "queue receive (open seals)": ("local.py", "receive"),
    "queue complete": ("local.py", "complete"),
    "prediction handle (model)": ("prediction.py", "handle"),
    "storage put_windows": ("store_windows.py", "put_windows"),
    "storage handle (check+build+put)": ("storage.py", "handle"),
    "Reading.to_json": ("reading.py", "to_json"),
}


class ThreadProfiles:
    """One cProfile per worker thread, enabled only while it runs a trio.to_thread job."""

    def __init__(self):
        self.profiles: list[cProfile.Profile] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def wrap(self, fn):
        def profiled(*args):
            profile = getattr(self._local, "profile", None)
            if profile is None:
                profile = self._local.profile = cProfile.Profile(timer=time.thread_time)
                with self._lock:
                    self.profiles.append(profile)
            profile.enable()
            try:
                return fn(*args)
            finally:
                profile.disable()
        return profiled


def drain(data_dir: Path, threads: ThreadProfiles) -> tuple[cProfile.Profile, float, float, int]:
    """(main-thread profile, wall s, process CPU s, readings) of draining a fresh backlog."""
    _store, _fleet, expected_windows = bench_pipeline.prefill(data_dir, DEVICES, SECONDS, "profile")
    admit_locally(data_dir, {"all": ALL_ROLES})
    settings = PeersSettings(data_dir=data_dir, name="all", roles=ALL_ROLES, **bench_pipeline.TUNING)
    ingest = IngestSettings(queue_path=data_dir / "queue.db", lock_s=bench_pipeline.LOCK_S)
    main_profile = cProfile.Profile(timer=time.thread_time)
    original = trio.to_thread.run_sync
    out = {}

    async def run_sync(fn, *args, **kwargs):
        return await original(threads.wrap(fn) if PROFILE else fn, *args, **kwargs)

    async def main():
        node = PeerNode(settings, ingest)
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            started, cpu_started = time.monotonic(), time.process_time()
            if PROFILE:
                main_profile.enable()
            while node.roles["storage"].stored < expected_windows:
                await trio.sleep(0.05)
            if PROFILE:
                main_profile.disable()
            out["wall"] = time.monotonic() - started
            out["cpu"] = time.process_time() - cpu_started
            nursery.cancel_scope.cancel()

    trio.to_thread.run_sync = run_sync
    try:
        trio.run(main)
    finally:
        trio.to_thread.run_sync = original
    return main_profile, out["wall"], out["cpu"], DEVICES * SECONDS


def _cumulative(stats: pstats.Stats, filename: str, name: str) -> float:
    """Cumulative time of a function, counted once however often it recurses or is re-entered."""
    total = 0.0
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if func == name and file.endswith(filename):
            total += ct
    return total


def report(stats: pstats.Stats, readings: int, wall: float) -> None:
    total = stats.total_tt
    print(f"\n{readings} readings; profiled CPU {total:.2f} s = {total / readings * 1e6:.0f} µs per"
          f" reading (all threads; under the profiler); wall {wall:.1f} s ≈ "
          f"{readings / wall:.0f} readings/s (loaded machine, profiler on: orientation only)\n")
    print("By concern (cumulative; concerns nest, so shares do not add up):")
    for label, (filename, name) in CONCERNS.items():
        ct = _cumulative(stats, filename, name)
        print(f"  {ct / total:6.1%}  {ct / readings * 1e6:7.1f} µs/reading  {label}")
    print(f"\nTop {TOP} functions by own time:")
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:TOP]
    for (file, line, func), (_cc, nc, tt, ct, _callers) in rows:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
        print(f"  {tt / total:6.1%} own {ct / total:6.1%} cum {nc:>9} calls  {func}  ({where})")


def main() -> None:
    threads = ThreadProfiles()
    with tempfile.TemporaryDirectory(prefix="profile-pipeline-") as folder:
        main_profile, wall, cpu, readings = drain(Path(folder) / "all", threads)
    if not PROFILE:
        # CPU per reading is the steadier figure on a shared machine (the wall rate depends on
        # what else runs); one process, so its ceiling is about one core's worth of it.
        print(f"{readings} readings drained in {wall:.1f} s = {readings / wall:.0f} readings/s; "
              f"process CPU {cpu / readings * 1e6:.0f} µs per reading (load average "
              f"{os.getloadavg()[0]:.1f}: provisional unless the machine is quiet)")
        return
    stats = pstats.Stats(main_profile)
    for profile in threads.profiles:
        stats.add(profile)
    report(stats, readings, wall)
    if os.environ.get("PROFILE_DUMP"):
        stats.dump_stats(os.environ["PROFILE_DUMP"])
        print(f"\nraw stats: {os.environ['PROFILE_DUMP']} (python -m pstats)")


if __name__ == "__main__":
    main()
