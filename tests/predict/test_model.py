"""The shipped model loads, answers, and is the file its metadata records."""

import dataclasses
import hashlib
import json
import pickle
import shutil

import pytest
from predict_samples import IRREGULAR_HR, IRREGULAR_RR, REGULAR_HR, REGULAR_RR

from services.predict.base import Prediction, Window, load_predictor, predictions_from_columns
from services.predict.features import MODEL_FEATURE_NAMES
from services.predict.onnx_predictor import ModelIntegrityError, OnnxPredictor


def test_shipped_model__matches_recorded_sha256(settings):
    metadata = json.loads(settings.metadata_path.read_text())
    assert hashlib.sha256(settings.model_path.read_bytes()).hexdigest() == metadata["sha256"]
    assert metadata["feature_names"] == list(MODEL_FEATURE_NAMES)
    assert set(metadata["thresholds"]) == {"rr", "hr", "hr_gappy"}
    assert isinstance(metadata["training_seed"], int)


def test_load_predictor__default__is_the_local_onnx_model(monkeypatch, settings):
    monkeypatch.delenv("PULSELEDGER_PREDICT_BACKEND", raising=False)
    predictor = load_predictor()
    assert isinstance(predictor, OnnxPredictor)
    assert predictor.model_sha256 == json.loads(settings.metadata_path.read_text())["sha256"]


@pytest.mark.parametrize(
    ("rr", "hr", "kind", "status"),
    [
        (REGULAR_RR, REGULAR_HR, "rr", "regular"),
        (None, REGULAR_HR, "hr", "regular"),
        (IRREGULAR_RR, IRREGULAR_HR, "rr", "irregular"),
        (None, IRREGULAR_HR, "hr", "irregular"),
    ],
)
def test_predict__clear_cases__answers_with_input_kind(predictor, rr, hr, kind, status):
    prediction = predictor.predict(Window("u", 0, hr, rr, signal="rr"))
    assert (prediction.status, prediction.input_kind) == (status, kind)
    assert 0.0 <= prediction.probability <= 1.0
    assert prediction.threshold == predictor.thresholds[kind]
    assert (prediction.probability >= prediction.threshold) == (status == "irregular")


def test_predict_batch__same_answers_as_one_by_one(predictor):
    windows = [
        Window("a", 0, REGULAR_HR, REGULAR_RR, signal="rr"),
        Window("b", 0, IRREGULAR_HR, signal="hr_instantaneous"),
        Window("c", 0, [60, 61], signal="hr_instantaneous"),
        Window("d", 10_000, IRREGULAR_HR, IRREGULAR_RR, signal="rr"),
    ]
    assert predictor.predict_batch(windows) == [predictor.predict(w) for w in windows]
    assert predictor.predict_batch([]) == []


def test_tampered_model__refused(tmp_path, settings):
    model = tmp_path / "model.onnx"
    metadata = tmp_path / "model.json"
    shutil.copy(settings.metadata_path, metadata)
    data = bytearray(settings.model_path.read_bytes())
    data[-1] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        OnnxPredictor(model, metadata)


def test_model_with_other_features__refused(tmp_path, settings):
    metadata = json.loads(settings.metadata_path.read_text())
    metadata["feature_names"] = metadata["feature_names"][::-1]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelIntegrityError, match="features"):
        OnnxPredictor(settings.model_path, path)


def test_predictions_from_columns__same_frozen_objects_as_the_constructor():
    rows = [
        ("irregular", 0.9, "rr", "m" * 64, "i" * 64, None, 0.5, "2.0.0", "sha256"),
        ("insufficient_data", None, None, "m" * 64, "j" * 64, "signal: not declared", None, None,
         "hmac-sha256"),
    ]  # fmt: skip
    built = predictions_from_columns(*(list(column) for column in zip(*rows, strict=True)))
    constructed = [Prediction(*row) for row in rows]
    assert all(type(p) is Prediction for p in built)
    assert built == constructed and [hash(p) for p in built] == [hash(p) for p in constructed]
    assert [p.as_dict() for p in built] == [dataclasses.asdict(p) for p in constructed]
    assert pickle.loads(pickle.dumps(built)) == constructed
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].status = "regular"
    with pytest.raises(ValueError):  # columns of unequal length: an error, not a short batch
        predictions_from_columns(["regular"], [])
