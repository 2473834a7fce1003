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


def _sent_and_checked(context: dict | None) -> None:
    """The context as predict.windows carries it, through the callee's check of the request."""
    from services.peers.messages.windows import PredictRequest

    window = {"device_id": "d", "window_start_ms": 50_000, "readings": [], "context": context}
    PredictRequest.from_wire({"windows": [window]})  # raises InvalidMessage if refused


def test_context__a_scrubbed_reading_gives_no_value__the_request_is_not_refused():
    """A reading whose content is gone (heart rate and RR None) came with a window once; a None
    among the context's numbers had the prediction peer refuse the whole round's request, and
    the aggregator retried the same round until its replica took its windows over (120 s)."""
    recent = RecentWindows(window_ms=10_000)
    recent.remember("d", 0, readings(60) + [{"heartrate": None, "rr": None}])
    context = recent.context_of("d", 10_000)
    assert context == {"heart_rates": [60, 61, 62]}
    _sent_and_checked(context)
    recent.remember("e", 0, [{"heartrate": None, "rr": None}])  # nothing but scrubbed readings
    assert recent.context_of("e", 10_000) is None


def test_context__a_device_faster_than_assumed__the_newest_values_the_wire_takes():
    """Ten readings a second, each with its beats: more values than predict.windows takes. The
    newest are sent (the screen keeps the newest too), never a request it refuses."""
    from services.peers.messages.windows import MAX_CONTEXT_VALUES

    recent = RecentWindows(window_ms=10_000)
    for start in range(0, 50_000, 10_000):
        recent.remember("d", start, [{"heartrate": 60.0 + i % 7, "rr": [900 + i % 11, 901]}
                                     for i in range(100)])
        recent.remember("h", start, [{"heartrate": 60.0 + i % 7, "rr": None} for i in range(100)])
    rr, rates = recent.context_of("d", 50_000)["rr_ms"], recent.context_of("h", 50_000)
    assert len(rr) == MAX_CONTEXT_VALUES and rr[-2:] == [900 + 99 % 11, 901]
    assert len(rates["heart_rates"]) == MAX_CONTEXT_VALUES
    _sent_and_checked({"rr_ms": rr})
    _sent_and_checked(rates)
