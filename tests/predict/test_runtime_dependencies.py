"""Runtime code needs no training or GPL package (they live in optional uv groups).

The probe runs with those packages made unimportable, as in an install without the optional
groups: a library that only looks for one when it is there (numba checks scipy's version)
then carries on, and anything that needs one fails the probe.
"""

import subprocess
import sys

TRAINING_ONLY = {"sklearn", "skl2onnx", "scipy", "onnx", "pyhrv", "sleepecg", "heartpy", "systole"}

PROBE = f"""
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {sorted(TRAINING_ONLY)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (training only)", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
import services.cli
import services.predict
import services.alerts, services.predict.endpoint_handler
import services.predict.onnx_predictor, services.predict.sagemaker_predictor
from services.predict.base import Window, load_predictor
prediction = load_predictor().predict(Window("u", 0, [60] * 10, signal="hr_instantaneous"))
assert prediction.status == "regular", prediction
print(sorted({{name.split(".")[0] for name in sys.modules}} & set({sorted(TRAINING_ONLY)!r})))
"""


def test_runtime_imports__no_training_or_gpl_packages():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
