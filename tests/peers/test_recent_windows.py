"""The aggregator's memory of a device's last windows, which the screen reads as context: only
the span before the window, oldest first, bounded per device and in devices."""

from services.peers.recent_windows import RecentWindows


def readings(rate, rr=None):
    return [{"heartrate": rate + i, "rr": rr} for i in range(3)]


def test_context__the_span_before_the_window_oldest_first():
    recent = RecentWindows(window_ms=10_000, keep_seconds=30)
    for start, rate in [(0, 60), (10_000, 70), (20_000, 80), (30_000, 90)]:
        recent.remember("d", start, readings(rate, rr=[1000 + rate]))
    # the intervals, which the screen judges for a device that sends them
    assert recent.context_of("d", 40_000) == {"rr_ms": [1070] * 3 + [1080] * 3 + [1090] * 3}
    # a window judged again (a takeover) sees only what came before it
    assert recent.context_of("d", 20_000) == {"rr_ms": [1070] * 3}
    assert recent.context_of("d", 0) is None and recent.context_of("other", 40_000) is None


def test_context__heart_rates_when_the_device_sends_no_rr():
    recent = RecentWindows(window_ms=10_000)
    recent.remember("d", 0, readings(60))
    assert recent.context_of("d", 10_000) == {"heart_rates": [60, 61, 62]}


def test_bounded__windows_per_device_and_devices():
    recent = RecentWindows(window_ms=10_000, keep_seconds=20, max_devices=2)
    for start in range(0, 100_000, 10_000):
        recent.remember("a", start, readings(60))
    assert len(recent._devices["a"]) == 2
    recent.remember("b", 0, readings(60))
    recent.remember("c", 0, readings(60))
    assert len(recent) == 2 and recent.context_of("a", 100_000) is None  # least recent forgotten


def test_a_device_not_closed_here_for_a_while__forgotten():
    now = [0.0]
    recent = RecentWindows(window_ms=10_000, idle_s=300, clock=lambda: now[0])
    recent.remember("moved-away", 0, readings(60))
    now[0] = 200.0
    recent.remember("still-here", 0, readings(70))
    now[0] = 301.0
    recent.remember("still-here", 10_000, readings(70))  # forgetting runs as windows close
    assert recent.context_of("moved-away", 10_000) is None
    assert recent.context_of("still-here", 20_000) == {"heart_rates": [70, 71, 72] * 2}
    assert len(recent) == 1
