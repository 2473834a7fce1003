"""Bad input gets a clear insufficient_data answer with a reason, never a guess."""

import math

import pytest
from predict_samples import IRREGULAR_RR, REGULAR_HR, REGULAR_RR

from services.predict.base import Window


@pytest.mark.parametrize(
    ("heart_rates", "reason"),
    [
        ([60, 61, 60], "3 values, need 6-12"),
        ([], "0 values"),
        ([60] * 13, "13 values"),
        ([60, 61, math.nan, 60, 61, 60, 59, 60, 61, 60], "NaN"),
        ([60, 61, math.inf, 60, 61, 60, 59, 60, 61, 60], "outside 25-240 bpm"),
        ([60, 61, 300, 60, 61, 60, 59, 60, 61, 60], "outside 25-240 bpm"),
        ([60, 61, 0, 60, 61, 60, 59, 60, 61, 60], "outside 25-240 bpm"),
        ([60, 61, -70, 60, 61, 60, 59, 60, 61, 60], "outside 25-240 bpm"),
        ([60, 61, "x", 60, 61, 60, 59, 60, 61, 60], "non-numeric"),
        ([60, 61, None, 60, 61, 60, 59, 60, 61, 60], "non-numeric"),
    ],
)
def test_bad_heart_rates__insufficient_data_with_reason(predictor, heart_rates, reason):
    prediction = predictor.predict(Window("u", 0, heart_rates, signal="hr_instantaneous"))
    assert prediction.status == "insufficient_data"
    assert prediction.probability is None and prediction.input_kind is None
    assert "heart_rates" in prediction.reason and reason in prediction.reason
    assert prediction.model_sha256 == predictor.model_sha256


@pytest.mark.parametrize(
    ("rr_ms", "reason"),
    [
        ([1000] * 5, "5 values, need 7-40"),
        ([1000, 1000, math.nan, 1000, 1000, 1000, 1000, 1000, 1000, 1000], "NaN"),
        ([1000, 100, 100, 1000, 150, 850, 1000, 100, 900, 1000], "outside 250-2400 ms"),
        ([1000, 1000, 5000, 1000, 3000, 1000, 2500, 1000, 1000], "outside 250-2400 ms"),
        ([1000, 1000, -1000, 1000, 1000, 1000, 1000, 1000, 1000], "non-positive"),
        ([300] * 10, "cover 3.0 s"),
        ([2000] * 10, "cover 20.0 s"),
    ],
)
def test_bad_rr__falls_back_to_heart_rates_and_says_why(predictor, rr_ms, reason):
    prediction = predictor.predict(Window("u", 0, REGULAR_HR, rr_ms, signal="rr"))
    assert (prediction.status, prediction.input_kind) == ("regular", "hr")
    assert prediction.reason.startswith("judged on heart_rates because rr_ms")
    assert reason in prediction.reason


def test_bad_rr_and_bad_heart_rates__both_reasons(predictor):
    prediction = predictor.predict(Window("u", 0, [60, 61], [1000, 1000], signal="rr"))
    assert prediction.status == "insufficient_data" and prediction.probability is None
    assert "rr_ms: 2 values" in prediction.reason and "heart_rates: 2 values" in prediction.reason


def test_good_rr__bad_heart_rates__judged_on_rr(predictor):
    prediction = predictor.predict(Window("u", 0, [math.nan] * 10, REGULAR_RR, signal="rr"))
    assert (prediction.status, prediction.input_kind, prediction.reason) == ("regular", "rr", None)


def test_batch__bad_windows_do_not_disturb_good_ones(predictor):
    good = Window("good", 0, REGULAR_HR, IRREGULAR_RR, signal="rr")
    alone = predictor.predict(good)
    batch = predictor.predict_batch([Window("bad", 0, [1e9] * 40, ["?"] * 50, signal="rr"), good])
    assert batch[0].status == "insufficient_data"
    assert batch[1] == alone


@pytest.mark.parametrize("heart_rates", [None, 60, "sixty"])
def test_heart_rates_not_a_list__insufficient_data(predictor, heart_rates):
    prediction = predictor.predict(Window("u", 0, heart_rates, signal="hr_instantaneous"))
    assert prediction.status == "insufficient_data" and prediction.probability is None
    assert prediction.reason.startswith("heart_rates")


def test_averaged_heart_rates_without_rr__insufficient_not_reassuring(predictor):
    window = Window("u", 0, IRREGULAR_HR_FOR_AVERAGING, signal="hr_averaged")
    prediction = predictor.predict(window)
    assert prediction.status == "insufficient_data" and prediction.probability is None
    assert "averaged" in prediction.reason and "rr_ms" in prediction.reason


def test_averaged_heart_rates_with_good_rr__judged_on_rr(predictor):
    window = Window("u", 0, REGULAR_HR, IRREGULAR_RR, signal="hr_averaged")
    prediction = predictor.predict(window)
    assert (prediction.status, prediction.input_kind, prediction.reason) == (
        "irregular",
        "rr",
        None,
    )


IRREGULAR_HR_FOR_AVERAGING = [72, 75, 70, 78, 74, 71, 77, 73, 76, 72]
