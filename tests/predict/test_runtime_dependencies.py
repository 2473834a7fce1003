"""Runtime code loads no training or GPL package (they live in optional uv groups)."""

import subprocess
import sys

TRAINING_ONLY = {"sklearn", "skl2onnx", "scipy", "onnx", "pyhrv", "sleepecg", "heartpy", "systole"}

PROBE = f"""
import sys
import services.cli
import services.predict
import services.alerts, services.predict.endpoint_handler
import services.predict.onnx_predictor, services.predict.sagemaker_predictor
from services.predict.base import Window, load_predictor
load_predictor().predict(Window("u", 0, [60] * 10, signal="hr_instantaneous"))
print(sorted({{name.split(".")[0] for name in sys.modules}} & set({sorted(TRAINING_ONLY)!r})))
"""


def test_runtime_imports__no_training_or_gpl_packages():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
