"""The benchmarks' CPU accounting (benchmarks/process_cpu.py) on real processes: a tree's CPU
counts its live workers and the ones that already exited, as a peer's replaced validation
workers must be counted in CPU per reading."""

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from process_cpu import TreesCpu, process_tree, tree_cpu_seconds

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"
# a parent that runs one child to its end (reaped), then starts another and waits on stdin
PARENT = ("import subprocess, sys\n"
          "subprocess.run([sys.executable, '-c', {burn!r}])\n"
          "live = subprocess.Popen([sys.executable, '-c', {burn!r} + 'import sys; sys.stdin.read()'],"
          " stdin=subprocess.PIPE)\n"
          "print('ready', flush=True)\n"
          "sys.stdin.read()\n"
          "live.stdin.close(); live.wait()\n")


def test_a_tree_counts_its_exited_and_its_live_children():
    burn = BURN.format(s=0.4)
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(burn=burn)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while len(process_tree(parent.pid)) < 2 or tree_cpu_seconds(parent.pid) < 0.75:
            assert time.monotonic() < deadline, "the live child never burnt its share"
            time.sleep(0.05)
        tree = process_tree(parent.pid)
        assert len(tree) == 2 and tree[0] == parent.pid  # the exited child is gone from /proc
        # both children's 0.4 s: the reaped one through the parent's cutime, the live one its own
        assert 0.75 <= tree_cpu_seconds(parent.pid) < 5
    finally:
        parent.stdin.close()
        parent.wait(timeout=30)


def test_trees_cpu__what_each_tree_used_since_it_started():
    idle = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    busy = subprocess.Popen([sys.executable, "-c", BURN.format(s=0.5) +
                             "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        time.sleep(0.2)  # both have started (the busy one is burning)
        cpu = TreesCpu({"idle": idle.pid, "busy": busy.pid})
        deadline = time.monotonic() + 30
        while cpu.used()[0]["busy"] < 0.2:
            assert time.monotonic() < deadline, "the busy tree's CPU never showed"
            time.sleep(0.05)
        spent, busy_cores = cpu.used()
        assert spent["idle"] < 0.1 <= spent["busy"]
        assert 0 < busy_cores
    finally:
        for process in (idle, busy):
            process.stdin.close()
            process.wait(timeout=30)
