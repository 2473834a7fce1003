"""Any input gets an answer: a judgement on valid readings, a reason otherwise, never a crash."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.predict.base import Window, window_sha256
from services.predict.inputs import HR_MAX_BPM, HR_MIN_BPM

reading = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=20, max_value=250),
    st.integers(min_value=-10, max_value=400),
    st.none(),
    st.text(max_size=3),
)
readings = st.lists(reading, max_size=45)
windows = st.builds(
    Window,
    user_id=st.text(max_size=8),
    start_ms=st.integers(min_value=-(2**62), max_value=2**62),
    heart_rates=st.one_of(readings, st.lists(st.floats(30, 200), min_size=8, max_size=12)),
    rr_ms=st.one_of(st.none(), readings, st.lists(st.floats(300, 1500), min_size=7, max_size=30)),
    signal=st.sampled_from([None, "rr", "hr_instantaneous", "hr_averaged", "ppg", 3]),
    # the minute before: junk, or plausible values, or none (left out when unusable)
    context_heart_rates=st.one_of(st.none(), readings, st.lists(st.floats(30, 200), max_size=60),
                                  st.integers(), st.text(max_size=3)),
    context_rr_ms=st.one_of(st.none(), st.lists(reading, max_size=250),
                            st.lists(st.floats(300, 1500), max_size=80)),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(windows, min_size=1, max_size=6))
def test_any_window__answer_or_reason__batch_equals_single(predictor, batch):
    predictions = predictor.predict_batch(batch)
    assert predictions == [predictor.predict(w) for w in batch]
    for window, prediction in zip(batch, predictions, strict=True):
        assert prediction.input_sha256 == window_sha256(window)
        if prediction.status == "insufficient_data":
            assert prediction.probability is None and prediction.reason
            continue
        assert window.signal in ("rr", "hr_instantaneous", "hr_averaged")
        assert 0.0 <= prediction.probability <= 1.0
        if prediction.input_kind == "hr":
            assert window.signal in ("rr", "hr_instantaneous")
            values = [float(v) for v in window.heart_rates]
            assert 6 <= len(values) <= 12
            assert all(math.isfinite(v) and HR_MIN_BPM <= v <= HR_MAX_BPM for v in values)
