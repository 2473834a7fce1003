import pytest

from services.predict.onnx_predictor import OnnxPredictor
from services.predict.settings import PredictSettings


@pytest.fixture(scope="session")
def settings() -> PredictSettings:
    return PredictSettings(backend="onnx")


@pytest.fixture(scope="session")
def predictor(settings) -> OnnxPredictor:
    return OnnxPredictor.from_settings(settings)
