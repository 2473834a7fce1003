"""What a SageMaker endpoint runs: the shipped ONNX model behind the wire format.

`handle(predictor, body)` is the whole endpoint; the four functions below are the hooks the
SageMaker Python inference toolkit looks for in an entry-point script (model_fn, input_fn,
predict_fn, output_fn), so the same code can be deployed as a SageMaker model. Tests use
`handle` to compute the reply a real endpoint would give, so both backends give the same answers.
"""

from __future__ import annotations

from pathlib import Path

from services.predict import wire
from services.predict.base import Prediction, Window
from services.predict.onnx_predictor import OnnxPredictor

CONTENT_TYPE = "application/json"


def handle(predictor: OnnxPredictor, body: bytes) -> bytes:
    return wire.encode_response(predictor.predict_batch(wire.decode_request(body)))


def model_fn(model_dir: str) -> OnnxPredictor:
    directory = Path(model_dir)
    return OnnxPredictor(directory / "irregular_rhythm.onnx", directory / "irregular_rhythm.json")


def input_fn(request_body: bytes | str, request_content_type: str) -> list[Window]:
    if request_content_type != CONTENT_TYPE:
        raise wire.WireFormatError(f"content type must be {CONTENT_TYPE}")
    if isinstance(request_body, str):
        request_body = request_body.encode()
    return wire.decode_request(request_body)


def predict_fn(windows: list[Window], predictor: OnnxPredictor) -> list[Prediction]:
    return predictor.predict_batch(windows)


def output_fn(predictions: list[Prediction], accept: str) -> tuple[bytes, str]:
    if accept not in (CONTENT_TYPE, "*/*"):
        raise wire.WireFormatError(f"can only answer {CONTENT_TYPE}")
    return wire.encode_response(predictions), CONTENT_TYPE
