"""One bad window never costs the batch; a window is judged on the values it had; a window must
say what its device sends; a beat-detection artefact costs one interval, not the window."""

import pytest
from predict_samples import IRREGULAR_RR, REGULAR_HR, REGULAR_RR

from services.predict.base import Window, window_sha256


def good(user="good", start=0):
    return Window(user, start, REGULAR_HR, IRREGULAR_RR, signal="rr")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (Window(None, 0, REGULAR_HR, REGULAR_RR, signal="rr"), "user_id: expected a string"),
        (Window("u", "soon", REGULAR_HR, REGULAR_RR, signal="rr"), "start_ms: expected an integer"),
        (Window("u", 2**70, REGULAR_HR, REGULAR_RR, signal="rr"), "start_ms: outside"),
        (None, "window: expected a Window, got NoneType"),
        ({"user_id": "u"}, "window: expected a Window, got dict"),
    ],
)
def test_batch__malformed_window__its_own_answer_the_rest_answered(predictor, bad, reason):
    alone = predictor.predict(good())
    batch = predictor.predict_batch([good(), bad, good()])
    assert batch[0] == batch[2] == alone and alone.status == "irregular"
    assert batch[1].status == "insufficient_data" and batch[1].probability is None
    assert reason in batch[1].reason


def test_iterator_readings__hashed_and_judged_on_their_values(predictor):
    def stream(values):
        yield from values

    from_lists = predictor.predict(Window("u", 0, REGULAR_HR, REGULAR_RR, signal="rr"))
    from_streams = predictor.predict(
        Window("u", 0, stream(REGULAR_HR), stream(REGULAR_RR), signal="rr")
    )
    other = predictor.predict(Window("u", 0, stream(REGULAR_HR), stream(IRREGULAR_RR), signal="rr"))
    assert from_streams == from_lists
    assert other.input_sha256 != from_streams.input_sha256
    assert other.status == "irregular"


def test_stream_that_fails_while_read__that_window_only(predictor):
    def broken():
        yield 1000
        raise OSError("device went away")

    batch = predictor.predict_batch([Window("u", 0, REGULAR_HR, broken(), signal="rr"), good()])
    assert batch[0].status == "insufficient_data"
    assert "rr_ms: could not be read (OSError)" in batch[0].reason
    assert batch[1] == predictor.predict(good())


@pytest.mark.parametrize(("signal", "reason"), [(None, "not declared"), ("ppg", "'ppg' is not")])
def test_undeclared_signal__refused_with_reason(predictor, signal, reason):
    prediction = predictor.predict(Window("u", 0, REGULAR_HR, IRREGULAR_RR, signal=signal))
    assert prediction.status == "insufficient_data" and prediction.probability is None
    assert prediction.reason.startswith("signal:") and reason in prediction.reason
    assert prediction.input_sha256 == window_sha256(
        Window("u", 0, REGULAR_HR, IRREGULAR_RR, signal)
    )


def test_instantaneous_rate__judged_on_heart_rates(predictor):
    prediction = predictor.predict(Window("u", 0, REGULAR_HR, signal="hr_instantaneous"))
    assert (prediction.status, prediction.input_kind) == ("regular", "hr")


@pytest.mark.parametrize(
    "rr_ms",
    [
        [1000, 1000, 130, 870, 1000, 1000, 1000, 1000, 1000, 1000],  # a doubled detection
        [1000, 1000, 1000, 2600, 1000, 1000, 1000, 1000, 1000],  # missed beats / a gap
        [1000, 200, 800, 1000, 1000, 1000, 1000, 1000, 3000, 1000],  # one of each
    ],
)
def test_rr_artefacts__repaired_and_said__not_the_whole_window(predictor, rr_ms):
    prediction = predictor.predict(Window("u", 0, REGULAR_HR, rr_ms, signal="rr"))
    assert (prediction.status, prediction.input_kind) == ("regular", "rr")
    assert "artefact interval(s) repaired" in prediction.reason


def test_missing_seconds__six_readings_still_judged(predictor):
    prediction = predictor.predict(Window("u", 0, REGULAR_HR[:6], signal="hr_instantaneous"))
    assert (prediction.status, prediction.input_kind) == ("regular", "hr")
