"""CPU time of process trees and of the host, read from /proc: what a benchmark's peers spent, which
a rate alone cannot say. On a machine whose cores are all busy the rate says what the machine
gives; CPU per reading says what the design costs, and so how it would scale where cores are not
the limit (bench_pipeline.py's drains and scale-out, probe_live.py)."""

from __future__ import annotations

import os

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int, tid: int | None = None) -> list[str]:
    """/proc/<pid>/stat's fields (a thread's: /proc/<pid>/task/<tid>/stat) after the command
    name (which may hold spaces), from `state`."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _command(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline") as cmdline:
        return cmdline.read().replace("\0", " ")[:60]


def process_tree(root: int) -> list[int]:
    """root and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(_stat_fields(int(entry))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def process_cpu(root: int) -> dict[int, tuple[str, float]]:
    """pid -> (command line, CPU seconds so far) for each process of the tree: a process's own
    figure counts its threads that ended too (trio's worker threads come and go, so a
    per-thread table misses the work they did: storage's batches, the screen)."""
    out = {}
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
            out[pid] = (_command(pid), (int(fields[11]) + int(fields[12])) / TICKS)
        except (OSError, IndexError, ValueError):
            continue
    return out


def thread_cpu(root: int) -> dict[tuple[int, int], tuple[str, float]]:
    """(pid, tid) -> (thread name | command line, CPU seconds so far), for the threads alive
    now (process_cpu counts the ones that ended too)."""
    out = {}
    for pid in process_tree(root):
        try:
            command = _command(pid)
            for tid in map(int, os.listdir(f"/proc/{pid}/task")):
                with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                    name = comm.read().strip()
                fields = _stat_fields(pid, tid)
                out[(pid, tid)] = (f"{name} | {command}",
                                   (int(fields[11]) + int(fields[12])) / TICKS)
        except (OSError, IndexError, ValueError):
            continue
    return out


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds the tree has used so far: each live process's own, plus what the root's
    children that have exited used (the kernel adds a reaped child's time to its parent's
    `cutime`): a worker process replaced meanwhile still counts. A child's children that exited
    count only once their parent has reaped them, as the kernel keeps it."""
    total = 0.0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
        except (OSError, IndexError):
            continue  # ended while we read the tree
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS
    return total


def host_cpu() -> tuple[float, float]:
    """(all CPU seconds, idle and iowait seconds) since boot, summed over the cores."""
    with open("/proc/stat") as stat:
        values = list(map(int, stat.readline().split()[1:]))
    return sum(values) / TICKS, (values[3] + values[4]) / TICKS


class TreesCpu:
    """CPU seconds each named process tree used from construction to `used()`, and how many of
    the host's cores were busy meanwhile (whatever ran on them): whether the cores, not the
    design, were the limit."""

    def __init__(self, roots: dict[str, int]):
        self.roots = roots
        self._before = {name: tree_cpu_seconds(pid) for name, pid in roots.items()}
        self._host_before = host_cpu()

    def used(self) -> tuple[dict[str, float], float]:
        """({name: CPU seconds}, busy cores of the host on average)."""
        spent = {name: tree_cpu_seconds(pid) - self._before[name]
                 for name, pid in self.roots.items()}
        total, idle = (after - before for after, before in zip(host_cpu(), self._host_before))
        busy = (total - idle) / total * os.cpu_count() if total > 0 else 0.0
        return spent, busy
