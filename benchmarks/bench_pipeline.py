"""Pipeline benchmark → benchmarks/pipeline.json (flat: metric → number, unit in the name).

1. all-in-one: one process with all five roles drains a queue pre-filled with DEVICES devices ×
   SECONDS s of batch-signed readings (10 readings a signature, as a wearable sends them);
   readings/s from the first pull to the last window stored, the same to queue drained, readings
   lost or duplicated (every stored window decrypted and counted), due → stored latency.
   Then, on the same running peer, a paced phase: PACED_DEVICES wearables at 1 Hz in real time
   (each reading signed), the latency a live stream sees.
2. separate: the same with every role in its own process (two masters, two aggregators, one
   prediction, one storage, one notification peer), under the supervisor.
3. kills: a realtime fleet runs while each kind of peer of (2) is killed -9 in turn; how long the
   supervisor takes to have it serving again, and whether any reading was lost or doubled.

Sizes come from the environment (BENCH_DEVICES, BENCH_SECONDS, BENCH_KILL_DEVICES) so a quick run
is possible; the committed JSON says which sizes it was made with.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.ingest.queues.local import LocalQueue
from services.ingest.settings import IngestSettings
from services.ingest.simulator import make_fleet, onboard, run, signed_messages
from services.peers.backends import records_settings
from services.peers.node import PeerNode
from services.peers.settings import ALL_ROLES, PeersSettings
from services.peers.supervisor import PeerSpec, Supervisor, addr_dir
from services.records import open_store

DEVICES = int(os.environ.get("BENCH_DEVICES", "10000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
KILL_DEVICES = int(os.environ.get("BENCH_KILL_DEVICES", "100"))
PACED_DEVICES = int(os.environ.get("BENCH_PACED_DEVICES", "1000"))
PACED_SECONDS = int(os.environ.get("BENCH_PACED_SECONDS", "40"))
BATCH = 10
# Deadlines for surviving kills (docs/peers.md): a killed master's locked messages come back
# after LOCK_S, so grace (device time) must exceed it plus the restart and the RPC timeouts.
LOCK_S = 10
TUNING = dict(presence_interval_s=0.5, presence_timeout_s=10.0, reconnect_interval_s=0.5,  # noqa: C408
              grace_ms=15_000, idle_close_s=20.0, quiet_flush_s=5.0, close_tick_s=0.1, rebalance_interval_s=0.5,
              master_batch=500, master_concurrency=2, latency_log=True, rpc_timeout_s=30.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def prefill(data_dir: Path, devices: int, seconds: int, seed: str):
    store = open_store(records_settings(data_dir))
    fleet = make_fleet(devices, irregular_fraction=0.1, seed=seed)
    onboard(fleet, store)
    queue = LocalQueue(data_dir / "queue.db")
    start_ms = int(time.time() * 1000) - seconds * 1000
    windows = set()
    for second, messages in signed_messages(fleet, seconds, start_ms, BATCH):
        queue.send(messages)
        ts = start_ms + second * 1000
        windows.update((d.user_id, ts - ts % 10_000) for d in fleet)
    queue.close()
    return store, fleet, len(windows)


def count_stored(store, fleet) -> Counter:
    counted: Counter = Counter()
    for device in fleet:
        for meta in store.list_windows(device.owner, limit=1_000_000):
            payload = store.get_window(meta.record_id)
            for reading in payload["readings"]:
                counted[(payload["device_id"], reading["seq"])] += 1
    return counted


def latencies(data_dir: Path, skip: dict | None = None) -> list[float]:
    """Every window's due → stored latency (ms); `skip` = line counts to leave out per file."""
    out = []
    for path in (data_dir / "metrics").glob("*-latency.txt"):
        out += [float(x) for x in path.read_text().split()[(skip or {}).get(path.name, 0):]]
    return out


def latency_marks(data_dir: Path) -> dict:
    return {path.name: len(path.read_text().split())
            for path in (data_dir / "metrics").glob("*-latency.txt")}


def paced(prefix: str, data_dir: Path, store, wait_stored, poll=lambda: None) -> dict:
    """A realtime fleet for PACED_SECONDS; latency of the windows it produces, readings lost."""
    fleet = make_fleet(PACED_DEVICES, irregular_fraction=0.1, seed=f"{prefix}-paced")
    onboard(fleet, store)
    marks = latency_marks(data_dir)
    sink = LocalQueue(data_dir / "queue.db")
    feeder = threading.Thread(target=run, args=(sink, fleet, PACED_SECONDS, 1, True), daemon=True)
    feeder.start()
    while feeder.is_alive():
        poll()
        time.sleep(0.2)
    expected = {(d.user_id, s) for d in fleet for s in range(1, PACED_SECONDS + 1)}
    counted = wait_stored(fleet, expected)
    lat = latencies(data_dir, marks)
    return {
        f"{prefix}_paced_readings_per_s": PACED_DEVICES,
        f"{prefix}_paced_readings_lost": len(expected - set(counted)),
        f"{prefix}_paced_readings_duplicated": sum(c - 1 for c in counted.values() if c > 1),
        f"{prefix}_paced_due_to_stored_p50_ms": round(percentile(lat, 0.50), 1),
        f"{prefix}_paced_due_to_stored_p99_ms": round(percentile(lat, 0.99), 1),
    }


def wait_counted(store, fleet, expected: set, timeout_s: float = 300, poll=lambda: None):
    deadline = time.monotonic() + timeout_s
    counted: Counter = Counter()
    while time.monotonic() < deadline:
        poll()
        counted = count_stored(store, fleet)
        if set(counted) >= expected:
            break
        time.sleep(2.0)
    return counted


def windows_stored(data_dir: Path) -> int:
    total = 0
    for path in (data_dir / "metrics").glob("*.json"):
        try:
            total += json.loads(path.read_text()).get("storage_windows_created", 0)
        except ValueError:
            pass
    return total


def result(prefix: str, store, fleet, expected_readings: int, t0: float, t_drained: float,
           t_stored: float, data_dir: Path) -> dict:
    counted = count_stored(store, fleet)
    lat = latencies(data_dir)
    return {
        f"{prefix}_readings": expected_readings,
        f"{prefix}_readings_per_s": round(expected_readings / (t_stored - t0), 1),
        f"{prefix}_queue_drain_readings_per_s": round(expected_readings / (t_drained - t0), 1),
        f"{prefix}_readings_lost": expected_readings - len(counted),
        f"{prefix}_readings_duplicated": sum(c - 1 for c in counted.values() if c > 1),
        f"{prefix}_due_to_stored_p50_ms": round(percentile(lat, 0.50), 1),
        f"{prefix}_due_to_stored_p99_ms": round(percentile(lat, 0.99), 1),
    }


def bench_all_in_one(data_dir: Path) -> dict:
    store, fleet, expected_windows = prefill(data_dir, DEVICES, SECONDS, "bench-all")
    settings = PeersSettings(data_dir=data_dir, name="all", roles=ALL_ROLES, **TUNING)
    ingest = IngestSettings(queue_path=data_dir / "queue.db", lock_s=LOCK_S)
    queue = LocalQueue(data_dir / "queue.db")
    marks = {}

    async def main():
        node = PeerNode(settings, ingest)
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            marks["t0"] = time.monotonic()
            while node.roles["storage"].stored < expected_windows:
                if "drained" not in marks and queue.depth() == 0:
                    marks["drained"] = time.monotonic()
                await trio.sleep(0.05)
            marks["stored"] = time.monotonic()
            marks.setdefault("drained", marks["stored"])
            marks["figures"] = result("all_in_one", store, fleet, DEVICES * SECONDS, marks["t0"],
                                      marks["drained"], marks["stored"], data_dir)
            marks["figures"].update(await trio.to_thread.run_sync(
                paced, "all_in_one", data_dir, store,
                lambda f, e: wait_counted(store, f, e)))
            nursery.cancel_scope.cancel()

    trio.run(main)
    return marks["figures"]


SEPARATE = [PeerSpec("master-1", ("master",)), PeerSpec("master-2", ("master",)),
            PeerSpec("aggregation-1", ("aggregation",)),
            PeerSpec("aggregation-2", ("aggregation",)),
            PeerSpec("prediction-1", ("prediction",)), PeerSpec("storage-1", ("storage",)),
            PeerSpec("notification-1", ("notification",))]


def _env() -> dict:
    env = {f"PULSELEDGER_PEERS_{k.upper()}": str(v) for k, v in TUNING.items()}
    env["PULSELEDGER_INGEST_LOCK_S"] = str(LOCK_S)
    return env


def bench_separate(data_dir: Path) -> tuple[dict, Supervisor]:
    store, fleet, expected_windows = prefill(data_dir, DEVICES, SECONDS, "bench-separate")
    queue = LocalQueue(data_dir / "queue.db")
    # The masters start last, so the clock starts when the whole network can take readings.
    order = SEPARATE[2:] + SEPARATE[:2]
    supervisor = Supervisor(data_dir, order, _env(), log_dir=data_dir / "logs")
    supervisor.start(timeout_s=300)
    assert supervisor.wait_ready(300), "peers did not start"
    t0 = time.monotonic()
    drained = None
    while windows_stored(data_dir) < expected_windows:
        supervisor.poll()
        if drained is None and queue.depth() == 0:
            drained = time.monotonic()
        time.sleep(0.1)
    stored = time.monotonic()
    out = result("separate", store, fleet, DEVICES * SECONDS, t0, drained or stored, stored,
                 data_dir)
    out.update(paced("separate", data_dir, store,
                     lambda f, e: wait_counted(store, f, e, poll=supervisor.poll),
                     poll=supervisor.poll))
    return out, supervisor


def bench_kills(data_dir: Path, supervisor: Supervisor) -> dict:
    """A realtime fleet runs; each kind of peer is killed -9 in turn and must come back."""
    store = open_store(records_settings(data_dir))
    fleet = make_fleet(KILL_DEVICES, irregular_fraction=0.1, seed="bench-kills")
    onboard(fleet, store)
    seconds = 40
    sink = LocalQueue(data_dir / "queue.db")
    feeder = threading.Thread(target=run, args=(sink, fleet, seconds, 1, True), daemon=True)
    feeder.start()
    out = {}
    for name in ("aggregation-1", "master-1", "prediction-1", "storage-1", "notification-1"):
        time.sleep(4.0)
        started = time.monotonic()
        (addr_dir(data_dir) / f"{name}.addr").unlink(missing_ok=True)
        supervisor.kill(name, signal.SIGKILL)
        while not (addr_dir(data_dir) / f"{name}.addr").exists():
            supervisor.poll()
            time.sleep(0.05)
        out[f"recovery_{name.split('-')[0]}_restart_s"] = round(time.monotonic() - started, 2)
    feeder.join()
    expected = {(d.user_id, s) for d in fleet for s in range(1, seconds + 1)}
    counted = wait_counted(store, fleet, expected, poll=supervisor.poll)
    out["kills_readings"] = len(expected)
    out["kills_readings_lost"] = len(expected - set(counted))
    out["kills_readings_duplicated"] = sum(c - 1 for c in counted.values() if c > 1)
    return out


def kills_only() -> None:
    """BENCH_ONLY=kills: rerun phase 3 on a fresh separate cluster, keep the other figures."""
    path = ROOT / "benchmarks" / "pipeline.json"
    figures = json.loads(path.read_text())
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    data_dir = workdir / "separate"
    open_store(records_settings(data_dir)).close()
    supervisor = Supervisor(data_dir, SEPARATE[2:] + SEPARATE[:2], _env(),
                            log_dir=data_dir / "logs")
    try:
        supervisor.start(timeout_s=300)
        assert supervisor.wait_ready(300), "peers did not start"
        figures.update(bench_kills(data_dir, supervisor))
    finally:
        supervisor.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def main() -> None:
    if os.environ.get("BENCH_ONLY") == "kills":
        kills_only()
        return
    figures: dict[str, float] = {"devices": DEVICES, "seconds": SECONDS,
                                 "readings_per_signature": BATCH, "cpu_cores": os.cpu_count()}
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    supervisor = None
    try:
        figures.update(bench_all_in_one(workdir / "all"))
        print(json.dumps(figures), flush=True)
        separate, supervisor = bench_separate(workdir / "separate")
        figures.update(separate)
        print(json.dumps(figures), flush=True)
        figures.update(bench_kills(workdir / "separate", supervisor))
    finally:
        if supervisor is not None:
            supervisor.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    (ROOT / "benchmarks" / "pipeline.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
