"""A window is judged together with the same person's minute before (its context): the answer
and its fingerprint depend on it, bad context values are left out rather than costing the
window, and on people the model never saw the context is what separates a young person's sinus
arrhythmia from AF (the figures: benchmarks/model.json, docs/model-card.md)."""

import math

import numpy as np
import pytest
from predict_samples import IRREGULAR_RR, REGULAR_HR, REGULAR_RR

from services.predict.base import Window, window_message, window_sha256
from services.predict.inputs import MAX_CONTEXT_RR
from services.predict.training.datasets import simulate_cohort, with_context
from services.predict.training.stratified import TEST_SEED


def window(context_rr=None, context_hr=None, rr=IRREGULAR_RR):
    return Window("u", 60_000, REGULAR_HR, rr, "rr", context_hr, context_rr)


def test_no_context__same_fingerprint_message_as_before_context_existed():
    plain = Window("u", 0, REGULAR_HR, REGULAR_RR, "rr")
    assert not window_message(plain).endswith(b"\x02")
    assert window_message(plain) == window_message(Window("u", 0, REGULAR_HR, REGULAR_RR, "rr",
                                                          None, None))


def test_context__in_the_fingerprint_and_in_the_answer(predictor):
    alone = predictor.predict(window())
    regular_minute = predictor.predict(window(context_rr=REGULAR_RR * 5, context_hr=REGULAR_HR * 5))
    irregular_minute = predictor.predict(window(context_rr=IRREGULAR_RR * 5,
                                                context_hr=REGULAR_HR * 5))
    hashes = {alone.input_sha256, regular_minute.input_sha256, irregular_minute.input_sha256}
    assert len(hashes) == 3
    assert regular_minute.input_sha256 == window_sha256(
        window(context_rr=REGULAR_RR * 5, context_hr=REGULAR_HR * 5))
    assert irregular_minute.probability > regular_minute.probability


def test_batch__same_answers_as_one_by_one_with_and_without_context(predictor):
    windows = [
        window(),
        window(context_rr=REGULAR_RR * 3, context_hr=REGULAR_HR * 3),
        Window("h", 0, REGULAR_HR, None, "hr_instantaneous", REGULAR_HR * 4, None),
        window(context_rr=IRREGULAR_RR, context_hr=None, rr=REGULAR_RR),
    ]
    assert predictor.predict_batch(windows) == [predictor.predict(w) for w in windows]


@pytest.mark.parametrize("junk", [math.nan, math.inf, -5.0, 0.0, 100.0, 9_000.0])
def test_bad_context_values__left_out_not_refused(predictor, junk):
    clean = predictor.predict(window(context_rr=REGULAR_RR * 2))
    with_junk = predictor.predict(window(context_rr=[junk, *REGULAR_RR, junk, *REGULAR_RR, junk]))
    assert with_junk.status == clean.status != "insufficient_data"
    assert with_junk.probability == clean.probability
    assert with_junk.input_sha256 != clean.input_sha256  # what was asked, junk included


def test_context_not_numbers__left_out(predictor):
    prediction = predictor.predict(window(context_rr=["a", None, {}], context_hr=["x"]))
    assert prediction.status != "insufficient_data"
    assert prediction.probability == predictor.predict(window()).probability


def test_long_context__its_latest_values_count(predictor):
    long_context = IRREGULAR_RR * 40 + REGULAR_RR * 40
    assert len(long_context) > MAX_CONTEXT_RR
    latest = predictor.predict(window(context_rr=long_context[-MAX_CONTEXT_RR:]))
    assert predictor.predict(window(context_rr=long_context)).probability == latest.probability


def test_context_stream__read_once(predictor):
    def stream(values):
        yield from values

    assert predictor.predict(window(context_rr=stream(REGULAR_RR * 3))).probability == \
        predictor.predict(window(context_rr=REGULAR_RR * 3)).probability


def test_simulated_people__context_catches_af_that_a_window_alone_misses(predictor):
    """Held-out people (the test seed): slow AF, and sinus rhythm with large respiratory sinus
    arrhythmia. With the minute before, far more AF windows are flagged; sinus windows stay
    unflagged as often."""
    af = simulate_cohort("af_slow", range(12), TEST_SEED)
    sinus = simulate_cohort("sinus", range(40), TEST_SEED)

    def flagged(cohort, context_windows):
        windows = cohort.windows(with_rr=True, context_windows=context_windows)
        return np.mean([p.status == "irregular" for p in predictor.predict_batch(windows)])

    assert flagged(af, 5) >= flagged(af, 0) + 0.2
    assert flagged(sinus, 5) <= 0.02


def test_with_context__each_person_only_their_own_earlier_windows():
    windows = [Window(user, i * 10_000, [60 + i] * 10, [1000.0 + i] * 10, "rr")
               for user, i in [("a", 0), ("a", 1), ("b", 2), ("b", 3), ("b", 4)]]
    out = with_context(windows, context_windows=1)
    assert out[0].context_rr_ms is None and out[2].context_rr_ms is None
    assert out[1].context_rr_ms == [1000.0] * 10 and out[1].context_heart_rates is None
    assert out[4].context_rr_ms == [1003.0] * 10
    no_rr = with_context([Window("a", 0, [60] * 10, None, "hr_instantaneous"),
                          Window("a", 10_000, [61] * 10, None, "hr_instantaneous")])
    assert no_rr[1].context_heart_rates == [60] * 10 and no_rr[1].context_rr_ms is None
