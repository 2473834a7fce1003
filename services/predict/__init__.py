"""Irregular-rhythm screening: features, the shipped ONNX model, backends, the k-of-n alert policy."""

from services.predict.base import Prediction, Predictor, Window, load_predictor

__all__ = ["Prediction", "Predictor", "Window", "load_predictor"]
