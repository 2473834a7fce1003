"""The endpoint's SageMaker hooks, run in-process on the shipped model directory."""

import dataclasses

import pytest
from predict_samples import IRREGULAR_HR, REGULAR_HR, REGULAR_RR

from services.predict import wire
from services.predict.base import Window
from services.predict.endpoint_handler import handle, input_fn, model_fn, output_fn, predict_fn


def test_hooks__same_bytes_as_handle(settings, predictor):
    windows = [
        Window("a", 0, REGULAR_HR, REGULAR_RR, signal="rr"),
        Window("b", 0, IRREGULAR_HR, signal="hr_instantaneous"),
    ]
    request = wire.encode_request(windows)
    model = model_fn(str(settings.model_path.parent))
    body, content_type = output_fn(
        predict_fn(input_fn(request.decode(), "application/json"), model), "application/json"
    )
    assert content_type == "application/json"
    assert body == handle(predictor, request)
    assert [p.status for p in wire.decode_response(body)] == ["regular", "irregular"]


def test_hooks__wrong_content_type__refused():
    with pytest.raises(wire.WireFormatError, match="content type"):
        input_fn(b"{}", "text/csv")
    with pytest.raises(wire.WireFormatError, match="can only answer"):
        output_fn([], "text/csv")


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"format": "other"}', b'{"format": "pulseledger.predict/v3", "windows": [{}]}'],
)
def test_handle__malformed_request__wire_format_error(predictor, body):
    with pytest.raises(wire.WireFormatError):
        handle(predictor, body)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "maybe"},
        {"probability": 1.5},
        {"probability": None},
        {"input_kind": "ecg"},
        {"status": "insufficient_data"},  # with a probability: a guess dressed as no answer
    ],
)
def test_decode_response__inconsistent_prediction__refused(predictor, change):
    good = predictor.predict(Window("a", 0, REGULAR_HR, signal="hr_instantaneous"))
    bad = dataclasses.replace(good, **change)
    with pytest.raises(wire.WireFormatError, match="inconsistent"):
        wire.decode_response(wire.encode_response([bad]))
