"""What a SageMaker endpoint runs: the shipped ONNX model behind the wire format.

A SageMaker inference container calls `handle(body)` per invocation; tests use it to compute the
reply a real endpoint would give, so both backends are held to the same answers.
"""

from __future__ import annotations

from services.predict import wire
from services.predict.onnx_predictor import OnnxPredictor


def handle(predictor: OnnxPredictor, body: bytes) -> bytes:
    return wire.encode_response(predictor.predict_batch(wire.decode_request(body)))
