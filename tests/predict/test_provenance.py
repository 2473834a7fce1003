"""Each prediction records the model's hash, the input's hash and the output."""

import dataclasses
import hashlib
import hmac
import math

import pytest
from predict_samples import REGULAR_HR, REGULAR_RR

from services.predict.base import Window, window_message, window_sha256
from services.predict.onnx_predictor import OnnxPredictor
from services.predict.settings import PredictSettings


def test_prediction__records_model_and_input_hashes(predictor, settings):
    window = Window("u", 1_700_000_000_000, REGULAR_HR, REGULAR_RR, signal="rr")
    prediction = predictor.predict(window)
    assert prediction.model_sha256 == hashlib.sha256(settings.model_path.read_bytes()).hexdigest()
    assert prediction.input_sha256 == window_sha256(window)
    assert prediction.model_version == predictor.model_version


def test_input_hash__changes_with_every_field():
    base = Window("u", 0, REGULAR_HR, REGULAR_RR, signal="rr")
    variants = [
        dataclasses.replace(base, user_id="v"),
        dataclasses.replace(base, start_ms=10_000),
        dataclasses.replace(base, heart_rates=[*REGULAR_HR[:-1], 61]),
        dataclasses.replace(base, rr_ms=[*REGULAR_RR[:-1], 996]),
        dataclasses.replace(base, rr_ms=None),
        dataclasses.replace(base, rr_ms=[]),
        dataclasses.replace(base, signal="hr_instantaneous"),
        dataclasses.replace(base, signal=None),
        dataclasses.replace(base, signal="hr_averaged"),
    ]
    hashes = {window_sha256(w) for w in [base, *variants]}
    assert len(hashes) == 1 + len(variants)
    assert window_sha256(base) == window_sha256(
        Window("u", 0, list(REGULAR_HR), tuple(REGULAR_RR), signal="rr")
    )


def test_batch_hashes__equal_one_by_one_hashes_for_odd_inputs(predictor):
    windows = [
        Window("u", 0, REGULAR_HR, REGULAR_RR, signal="rr"),
        Window("ü", -5, [60.5] * 9, [1000] * 3, signal="rr"),
        Window("x", 1, [math.nan] * 10, ["a"], signal="rr"),
        Window("x", 2, [60] * 13, [1000] * 50, signal="rr"),
        Window("y", 3, [], None, signal="hr_instantaneous"),
        Window("z", 4, None, None, signal="hr_instantaneous"),
        Window("z", 5, 60, 1000, signal="rr"),
        Window("z", 6, range(60, 70), (1000.0,) * 10, signal="rr"),
        Window("w", 7, REGULAR_HR, REGULAR_RR, signal="hr_averaged"),
        Window("w", 7, REGULAR_HR, REGULAR_RR),
        Window(None, 7, REGULAR_HR, REGULAR_RR, signal="rr"),
        Window("v", "soon", REGULAR_HR, REGULAR_RR, signal="rr"),
        Window("v", 2**70, REGULAR_HR, REGULAR_RR, signal="rr"),
        Window("w", 8, REGULAR_HR, None, signal="hr_averaged"),
    ]
    predictions = predictor.predict_batch(windows)
    assert [p.input_sha256 for p in predictions] == [window_sha256(w) for w in windows]


def test_batch_hashes__with_contexts__equal_one_by_one_hashes(predictor):
    """The batch path writes every message into one buffer (batch_fingerprints): the same bytes
    as window_message for ids of any script, any start, contexts of either kind or none, mixed
    with windows hashed on their own."""
    context_hr, context_rr = [61.0, 62.5] * 20, [980.0, 1010.5] * 30
    windows = [
        Window("u", 0, REGULAR_HR, REGULAR_RR, "rr", context_hr, context_rr),
        Window("心臓-ü", -(2**62), REGULAR_HR, REGULAR_RR, "rr", None, context_rr),
        Window("\udcff", 2**63 - 1, REGULAR_HR, None, "hr_instantaneous", context_hr, None),
        Window("", 5, [60.0] * 12, REGULAR_RR, "hr_averaged", [], []),
        Window("z", 6, REGULAR_HR, REGULAR_RR, "rr", ["junk", 60.0], context_rr),
        Window("y", 7, REGULAR_HR, REGULAR_RR, None, context_hr, context_rr),
        Window("x", 8, REGULAR_HR, None, "hr_instantaneous"),
    ]
    hashes = [p.input_sha256 for p in predictor.predict_batch(windows)]
    assert hashes == [window_sha256(w) for w in windows]
    assert len(set(hashes)) == len(windows)
    keyed = OnnxPredictor.from_settings(PredictSettings(backend="onnx", input_hash_key=KEY_HEX))
    key = bytes.fromhex(KEY_HEX)
    assert [p.input_sha256 for p in keyed.predict_batch(windows)] == [
        window_sha256(w, key) for w in windows
    ]


KEY_HEX = "00112233445566778899aabbccddeeff"


def test_keyed_fingerprint__hmac_not_plain_sha256():
    keyed = OnnxPredictor.from_settings(PredictSettings(backend="onnx", input_hash_key=KEY_HEX))
    window = Window("u", 0, REGULAR_HR, REGULAR_RR, signal="rr")
    prediction, *_ = keyed.predict_batch([window, Window("v", 0, [60], signal="hr_instantaneous")])
    key = bytes.fromhex(KEY_HEX)
    assert prediction.input_hash == "hmac-sha256"
    assert prediction.input_sha256 == hmac.new(key, window_message(window), "sha256").hexdigest()
    assert prediction.input_sha256 != window_sha256(window)
    assert keyed.predict(
        Window("v", 0, [60], signal="hr_instantaneous")
    ).input_sha256 == window_sha256(Window("v", 0, [60], signal="hr_instantaneous"), key)


def test_keyed_fingerprint__short_key__refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PredictSettings(input_hash_key="00ff").input_hash_key_bytes()


def test_plain_fingerprint__says_so(predictor):
    assert (
        predictor.predict(Window("u", 0, REGULAR_HR, signal="hr_instantaneous")).input_hash
        == "sha256"
    )
