"""The collector settings a peer process runs with (services/runtime/gc_tuning.py), checked in a
child process: freezing in the test process itself would keep every later test's objects."""

import subprocess
import sys

from services.runtime.gc_tuning import THRESHOLDS

PROBE = """
import gc
from services.runtime.gc_tuning import tune_for_throughput
kept = [object() for _ in range(1000)]  # start-up state
tune_for_throughput()
cycle = []
cycle.append(cycle)  # a reference cycle made afterwards
del cycle
print(gc.get_threshold(), gc.get_freeze_count() >= 1000, gc.collect() >= 1)
"""


def test_tuning__freezes_start_up_state_and_still_collects_cycles():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout.split()
    assert " ".join(out[:3]) == str(THRESHOLDS)
    assert out[3:] == ["True", "True"]
