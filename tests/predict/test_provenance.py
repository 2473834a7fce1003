"""Each prediction records the model's hash, the input's hash and the output."""

import dataclasses
import hashlib
import math

from predict_samples import REGULAR_HR, REGULAR_RR

from services.predict.base import Window, window_sha256


def test_prediction__records_model_and_input_hashes(predictor, settings):
    window = Window("u", 1_700_000_000_000, REGULAR_HR, REGULAR_RR)
    prediction = predictor.predict(window)
    assert prediction.model_sha256 == hashlib.sha256(settings.model_path.read_bytes()).hexdigest()
    assert prediction.input_sha256 == window_sha256(window)
    assert prediction.model_version == predictor.model_version


def test_input_hash__changes_with_every_field():
    base = Window("u", 0, REGULAR_HR, REGULAR_RR)
    variants = [
        dataclasses.replace(base, user_id="v"),
        dataclasses.replace(base, start_ms=10_000),
        dataclasses.replace(base, heart_rates=[*REGULAR_HR[:-1], 61]),
        dataclasses.replace(base, rr_ms=[*REGULAR_RR[:-1], 996]),
        dataclasses.replace(base, rr_ms=None),
        dataclasses.replace(base, rr_ms=[]),
    ]
    hashes = {window_sha256(w) for w in [base, *variants]}
    assert len(hashes) == 1 + len(variants)
    assert window_sha256(base) == window_sha256(Window("u", 0, list(REGULAR_HR), tuple(REGULAR_RR)))


def test_batch_hashes__equal_one_by_one_hashes_for_odd_inputs(predictor):
    windows = [
        Window("u", 0, REGULAR_HR, REGULAR_RR),
        Window("ü", -5, [60.5] * 9, [1000] * 3),
        Window("x", 1, [math.nan] * 10, ["a"]),
        Window("x", 2, [60] * 13, [1000] * 50),
        Window("y", 3, [], None),
    ]
    predictions = predictor.predict_batch(windows)
    assert [p.input_sha256 for p in predictions] == [window_sha256(w) for w in windows]
