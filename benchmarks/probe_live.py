"""A probe of the all-in-one peer's live phase, for comparing settings: a short backlog, then
LIVE_DEVICES wearables streaming live, with the CPU of the peer's process tree by thread and by
process (and the host's idle cores) sampled in the middle of the stream, and the stream's
course every SERIES_STEP_S (5) seconds: readings acknowledged per second, the queue's depth,
windows closed per second, each close step's µs per window, the agg.ingest calls' steps in ms a
call, and how many of the masters' loops were in each batch step (the peer's step counters,
docs/peers.md).

    T_MASTER_CONCURRENCY=3 uv run python benchmarks/probe_live.py

`T_<SETTING>=value` overrides a setting of bench_pipeline.TUNING (its type kept). Sizes:
LIVE_DEVICES (10,000), BACKLOG_S (20), SAMPLE_FROM_S (40: when sampling starts, counted from
the stream's first second, after the wearables' messages are signed), SAMPLE_S (40). Runs of
the same code spread ~1% here on a steady host against the full benchmark's ~5%, so it is the
instrument for a one-setting question (2026-12-05 decision records); the host's own spells
move it by 10% (2026-12-07-ingest-two-calls-in-flight-tried.md): alternate the variants.
Prints its figures; records nothing, and is not part of `make bench` (~5 min a run).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import bench_pipeline as bench  # the benchmark's own phases and settings, from sys.path above
from machine_speed import reference_ms
from process_cpu import host_cpu, process_cpu, thread_cpu

from services.ingest.queues.local import LocalQueue


def apply_overrides() -> dict:
    chosen = {}
    for name, value in os.environ.items():
        setting = name[2:].lower()
        if name.startswith("T_") and setting in bench.TUNING:
            chosen[setting] = bench.TUNING[setting] = type(bench.TUNING[setting])(value)
    return chosen


def sample(root: int, report: list[str], streaming: threading.Event) -> None:
    streaming.wait()  # not from the live phase's call: signing its messages takes ~30 s
    time.sleep(float(os.environ.get("SAMPLE_FROM_S", "40")))
    before, host_before, started = thread_cpu(root), host_cpu(), time.time()
    processes_before = process_cpu(root)
    time.sleep(float(os.environ.get("SAMPLE_S", "40")))
    after, host_after, elapsed = thread_cpu(root), host_cpu(), time.time() - started
    processes_after = process_cpu(root)
    rows = sorted(((after[k][1] - before[k][1]) / elapsed, after[k][0])
                  for k in after if k in before)
    report += [f"{cores:.2f} cores  {name}" for cores, name in reversed(rows) if cores > 0.01]
    rows = sorted(((processes_after[k][1] - processes_before[k][1]) / elapsed, k,
                   processes_after[k][0]) for k in processes_after if k in processes_before)
    report += [f"{cores:.2f} cores  process {pid}: {command}"
               for cores, pid, command in reversed(rows) if cores > 0.01]
    total, idle = (host_after[0] - host_before[0]), (host_after[1] - host_before[1])
    report.append(f"host idle {idle / total * os.cpu_count():.2f} of {os.cpu_count()} cores")


class Course:
    """Readings the masters acknowledged, and the queue's depth, as the stream goes: where it
    dips (an alert burst) and whether the depth settles or grows, which one rate for the
    whole measure cannot tell. With the peer's step counters (docs/peers.md): each close step's
    µs per window closed, and how many master loops were in each batch step on average."""

    def __init__(self, work: Path):
        self.work, self.rows, self._queue = work, [], None
        self.streaming = threading.Event()  # set at the first row: the stream has begun

    def poll(self) -> None:
        now = time.time()
        if self.rows and now - self.rows[-1][0] < 1:
            return
        if self._queue is None:
            self._queue = LocalQueue(self.work / "queue.db")
        acknowledged = sum(count for _, count in bench.accepted_by_masters(self.work).values())
        self.rows.append((now, acknowledged, self._queue.depth(), self._steps()))
        self.streaming.set()

    def _steps(self) -> dict[str, float]:
        """The all-in-one peer's windows closed and its step counters, as last written."""
        try:
            figures = json.loads((self.work / "metrics" / "all.json").read_text())
        except (OSError, ValueError):
            return {}
        return {name: value for name, value in figures.items()
                if name in ("aggregation_closed_windows", "aggregation_ingest_calls")
                or "seconds_total{step=" in name}

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()

    def lines(self, step_s: float) -> list[str]:
        if not self.rows:
            return []
        out, first = [], self.rows[0]
        previous = first
        for row in self.rows:
            at, acknowledged, depth, _ = row
            if at - previous[0] >= step_s:
                per_s = (acknowledged - previous[1]) / (at - previous[0])
                out.append(f"t {at - first[0]:5.1f} s  {per_s:6.0f} readings/s  "
                           f"queue {depth:5d} messages  {_steps_between(previous, row)}")
                previous = row
        return out


def _steps_between(before: tuple, after: tuple) -> str:
    """Close steps in µs a window closed (the largest first), the masters' agg.ingest calls'
    steps in ms a call, then the master loops' average count in each batch step, between two
    rows."""
    seconds = after[0] - before[0]
    delta = {name: value - before[3].get(name, 0) for name, value in after[3].items()}
    closed = delta.pop("aggregation_closed_windows", 0)
    calls = delta.pop("aggregation_ingest_calls", 0)
    close = {name.split('"')[1]: value for name, value in delta.items()
             if name.startswith("aggregation_close")}
    ingest = {name.split('"')[1]: value for name, value in delta.items()
              if name.startswith("aggregation_ingest")}
    batch = {name.split('"')[1]: value for name, value in delta.items()
             if name.startswith("master_batch")}
    text = f"closed {closed / seconds:5.0f}/s"
    if closed:
        text += " " + " ".join(f"{step} {value / closed * 1e6:.0f}" for step, value in
                               sorted(close.items(), key=lambda item: -item[1]) if value > 0)
    if calls:
        text += f" | ingest {calls / seconds:.1f} calls/s " + " ".join(
            f"{step} {value / calls * 1e3:.0f} ms" for step, value in ingest.items() if value > 0)
    return text + " | masters " + " ".join(f"{step} {value / seconds:.2f}"
                                           for step, value in batch.items() if value > 0)


def main() -> None:
    print("settings", json.dumps(apply_overrides()), f"machine reference {reference_ms()} ms",
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="probe-live-")) / "all"
    backlog, store, supervisor = bench.drain_backlog(
        "all_in_one", work, bench.ALL_IN_ONE, bench.DEVICES,
        seconds=int(os.environ.get("BACKLOG_S", "20")))
    print("backlog", json.dumps({k: v for k, v in backlog.items() if "per_s" in k or "p99" in k}),
          flush=True)
    report: list[str] = []
    course = Course(work)

    def poll() -> None:
        supervisor.poll()
        course.poll()

    threading.Thread(target=sample, args=(supervisor.pid("all"), report, course.streaming),
                     daemon=True).start()
    try:
        live = bench.live("all_in_one", work, store, int(os.environ.get("LIVE_DEVICES", "10000")),
                          lambda fleet, expected: bench.wait_counted(store, fleet, expected,
                                                                     poll=poll),
                          poll=poll)
    finally:
        supervisor.stop()
        store.close()
        course.close()
        bench.remove_workdir(work.parent)
    print("live", json.dumps({k: v for k, v in live.items()
                              if "per_s" in k or "p99" in k or "depth" in k or "lost" in k
                              or "reference" in k}))
    print("\n".join(report))
    print("\n".join(course.lines(float(os.environ.get("SERIES_STEP_S", "5")))))
    print(f"machine reference {reference_ms()} ms (machine_speed.py; lower is faster)")


if __name__ == "__main__":
    main()
