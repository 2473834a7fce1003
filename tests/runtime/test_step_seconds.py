"""StepSeconds (services/runtime/step_seconds.py): passes that run at once, as a master's loops
do, each add their own time to their steps."""

from services.runtime import step_seconds
from services.runtime.step_seconds import StepSeconds


def test_interleaved_passes__each_lap_adds_its_own_pass_time(monkeypatch):
    clock = iter([0.0, 1.0, 3.0, 4.0, 10.0])  # first begins, second begins, first, second, first
    monkeypatch.setattr(step_seconds.time, "monotonic", lambda: next(clock))
    steps = StepSeconds()
    first, second = steps.begin(), steps.begin()
    first.lap("pull")  # 3 - 0
    second.lap("pull")  # 4 - 1
    first.lap("route")  # 10 - 3
    assert steps.passes == 2
    assert steps.seconds == {"pull": 6.0, "route": 7.0}
    assert steps.metrics("x_seconds_total", "x_passes") == {
        "x_passes": 2, 'x_seconds_total{step="pull"}': 6.0, 'x_seconds_total{step="route"}': 7.0}
