"""The share of CPU time the hypervisor gave to other guests while a benchmark ran ("steal").

On these shared 2-core machines steal was seen at a third of all CPU time during a run
(2026-12-03), and a throughput figure then moves by tens of percent from one run to the next
with nothing changed. Recording it next to the figures says how far to trust them.

    with StealMeter() as steal:
        ... run ...
    figures["cpu_steal_share"] = steal.share
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

STAT = Path("/proc/stat")


def _cpu_times() -> list[int] | None:
    """user nice system idle iowait irq softirq steal (jiffies, all CPUs), or None off Linux."""
    try:
        first = STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    return [int(value) for value in first[1:9]] if first and first[0] == "cpu" else None


class StealMeter:
    def __init__(self) -> None:
        self.share: float | None = None
        self._start: list[int] | None = None

    def __enter__(self) -> Self:
        self._start = _cpu_times()
        return self

    def __exit__(self, *exc: object) -> None:
        end = _cpu_times()
        if self._start is None or end is None:
            return
        spent = [after - before for before, after in zip(self._start, end, strict=True)]
        total = sum(spent)
        self.share = round(spent[7] / total, 3) if total else None


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, or None off Linux. A server's CPU
    time per request moves far less with steal than its requests per second do: a throughput
    figure taken while the hypervisor gives a quarter of the machine away still says, through
    this, what one request costs the server."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
