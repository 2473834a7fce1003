"""How fast one core of the machine runs the kind of work the pipeline does, recorded beside a
benchmark's figures so that records made on different machines can be compared.

These 2-core machines are not all alike. The same code read 9,948 readings/s live on the machine
of the 2026-12-05 record, and 6,600-7,200/s on another one on 2026-12-06. There the screen's
batch ran 52,700 windows per CPU-second against the 95,000 benchmarks/model.json holds (same
settings), and a plain Python loop took 0.50 s in one minute and 0.67-0.85 s in others
(docs/decisions/2026-12-06-machine-speed-and-catch-up.md). Steal (cpu_steal.py) did not show
it: the host reported almost none.

    reference_ms()  # best of 5 rounds of a fixed mix; lower is faster

The mix: a reading batch encoded to JSON and parsed back, an HMAC-SHA256 per reading, and a
dict-and-loop pass over the readings, as validation, the window store and the close rounds do.
The best of several rounds is kept: a round that another process interrupted says nothing of
the core's own speed.

The host changes speed while a benchmark runs: on 2026-12-06 the same round read 32-38 ms or
53-61 ms, on either vCPU, with nothing else running, and a plain loop ran ~1.55x faster for
half a second at a time, then slower again (docs/decisions/2026-12-06-device-signatures-libsodium.md). So a live phase also samples it
while it streams:

    with SpeedDuringRun() as speed:  # one round every 5 s on a thread, timed on its CPU clock
        ...
    speed.figures("all_in_one_live")  # median, fastest and slowest ms of the rounds

A round's time is the thread's own CPU time: waiting for a core or for the GIL behind the
benchmark's other threads is not counted, what the host takes from the guest's core is.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import statistics
import threading
import time
from typing import Self

ROUNDS = 5
BATCHES = 400  # ~0.1-0.2 s a round here


def _batch(index: int) -> list[dict]:
    return [{"userId": f"12D3KooWReference{index:04d}", "seq": seq, "ts_ms": 1_700_000_000_000 + seq,
             "heartrate": 60.0 + seq % 40, "rr": [0.8, 0.81, 0.79]} for seq in range(10)]


def _one_round(batches: list[list[dict]], key: bytes, clock=time.perf_counter) -> float:
    started = clock()
    kept = 0
    for batch in batches:
        readings = json.loads(json.dumps(batch))
        for reading in readings:
            material = f"[{reading['heartrate']!r}, {reading['ts_ms']!r}, {reading['rr']!r}]"
            digest = hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:32]
            row = {"device": reading["userId"], "seq": reading["seq"], "digest": digest}
            kept += len(row) + sum(1 for value in reading["rr"] if value > 0.5)
    if kept <= 0:
        raise AssertionError("the reference mix did no work")
    return clock() - started


def _mix() -> tuple[list[list[dict]], bytes]:
    return [_batch(index) for index in range(BATCHES)], hashlib.sha256(b"machine-speed reference").digest()


def _rounds_ms(rounds: int, clock=time.perf_counter) -> list[float]:
    """Each round's milliseconds. The cyclic collector is off meanwhile: in a benchmark's
    process, whose heap holds a whole stream's signed messages, its passes over that heap
    doubled the figure (114.6 against 54.6 ms)."""
    batches, key = _mix()
    collecting = gc.isenabled()
    gc.disable()
    try:
        return [_one_round(batches, key, clock) * 1000 for _ in range(rounds)]
    finally:
        if collecting:
            gc.enable()


def reference_ms(rounds: int = ROUNDS) -> float:
    """Milliseconds for one round of the fixed mix on one core, best of `rounds`."""
    return round(min(_rounds_ms(rounds)), 1)


class SpeedDuringRun:
    """The reference round every `period_s` on a thread of its own while a `with` block runs
    (see the module docstring); ~1% of a core at the default period."""

    def __init__(self, period_s: float = 5.0):
        self.period_s = period_s
        self.rounds_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="machine-speed", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.rounds_ms += _rounds_ms(1, clock=time.thread_time)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self, prefix: str) -> dict[str, float]:
        if not self.rounds_ms:
            return {}
        return {f"{prefix}_machine_reference_median_ms": round(statistics.median(self.rounds_ms), 1),
                f"{prefix}_machine_reference_fastest_ms": round(min(self.rounds_ms), 1),
                f"{prefix}_machine_reference_slowest_ms": round(max(self.rounds_ms), 1),
                f"{prefix}_machine_reference_rounds": len(self.rounds_ms)}


if __name__ == "__main__":
    print(f"machine reference: {reference_ms()} ms (lower is faster)")
