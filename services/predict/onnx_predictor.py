"""The embedded default backend: the shipped ONNX model, run in-process by onnxruntime.

The model's bytes are checked against the sha256 recorded next to them before the first answer,
so a prediction's model_sha256 always names the bytes that produced it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from services.predict.base import Prediction, Window, predictions_from_columns
from services.predict.batch_fingerprints import batch_sha256
from services.predict.features import MODEL_FEATURE_NAMES
from services.predict.inputs import (
    GAPPY_KIND,
    CheckedBatch,
    check_windows,
    features_of,
    is_gappy,
)
from services.predict.settings import PredictSettings
from services.predict.window_values import materialise_all

_STATUSES = np.array(["insufficient_data", "regular", "irregular"], dtype=object)
# One window judged on each input, with a context: every compiled pass runs once.
_WARM_UP = (
    Window("warm-up", 0, [60.0] * 10, [1000.0] * 10, "rr", [60.0] * 50, [1000.0] * 50),
    Window("warm-up", 0, [60.0] * 10, None, "hr_instantaneous", [60.0] * 50, None),
)


class ModelIntegrityError(RuntimeError):
    """The model file does not match its recorded hash or feature list."""


class OnnxPredictor:
    def __init__(
        self,
        model_path: Path,
        metadata_path: Path,
        intra_op_threads: int = 1,
        input_hash_key: bytes | None = None,
    ):
        model_bytes = Path(model_path).read_bytes()
        metadata = json.loads(Path(metadata_path).read_text())
        digest = hashlib.sha256(model_bytes).hexdigest()
        if digest != metadata["sha256"]:
            raise ModelIntegrityError(
                f"{model_path} has sha256 {digest}, its metadata records {metadata['sha256']}"
            )
        if tuple(metadata["feature_names"]) != MODEL_FEATURE_NAMES:
            raise ModelIntegrityError(
                "the model was trained on other features than this code computes"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.model_sha256 = digest
        self._input_hash_key = input_hash_key
        self._input_hash = "sha256" if input_hash_key is None else "hmac-sha256"
        self.model_version = metadata["model_version"]
        self.thresholds = {kind: float(t) for kind, t in metadata["thresholds"].items()}
        self._inputs = metadata["inputs"]
        self._outputs = [metadata["outputs"]["rr"], metadata["outputs"]["hr"]]
        # The feature and fingerprint passes are compiled by numba on their first call (~8 s on
        # a fresh install, then loaded from its on-disk cache in ~0.3 s): here, at start-up,
        # rather than in the first batch a peer is asked to judge under a deadline.
        self.predict_batch(_WARM_UP)

    @classmethod
    def from_settings(cls, settings: PredictSettings) -> OnnxPredictor:
        return cls(
            settings.model_path,
            settings.metadata_path,
            settings.intra_op_threads,
            settings.input_hash_key_bytes(),
        )

    def predict(self, window: Window) -> Prediction:
        return self.predict_batch([window])[0]

    def predict_batch(self, windows: Sequence[Window]) -> list[Prediction]:
        if not windows:
            return []
        windows, invalid = materialise_all(windows)
        checked = check_windows(windows, invalid)
        rr_probability, hr_probability = self.probabilities(checked)
        return self._predictions(windows, checked, rr_probability, hr_probability)

    def probabilities(self, checked: CheckedBatch) -> tuple[np.ndarray, np.ndarray]:
        """Probability of an irregular rhythm for the RR-judged and the HR-judged windows."""
        return self.probabilities_of_features(*features_of(checked))

    def probabilities_of_features(
        self, rr_features: np.ndarray, hr_features: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The model's probabilities for feature rows (float32, MODEL_FEATURE_NAMES order) per input."""
        rr_out, hr_out = self._session.run(
            self._outputs,
            {self._inputs["rr"]: rr_features, self._inputs["hr"]: hr_features},
        )
        return rr_out[:, 1].astype(np.float64), hr_out[:, 1].astype(np.float64)

    def _predictions(self, windows, checked, rr_probability, hr_probability) -> list[Prediction]:
        use_rr, judged = checked.use_rr, checked.use_rr | checked.use_hr
        probability = np.full(len(windows), np.nan)
        probability[use_rr] = rr_probability
        probability[checked.use_hr] = hr_probability
        hr_threshold = np.where(is_gappy(checked.hr_counts), self.thresholds[GAPPY_KIND],
                                self.thresholds["hr"])
        threshold = np.where(use_rr, self.thresholds["rr"], hr_threshold)
        # 0 insufficient_data, 1 regular, 2 irregular; one shared str object per answer
        status = judged.astype(np.intp) + (judged & (probability >= threshold))
        kind = np.where(use_rr, "rr", "hr").astype(object)
        count = len(windows)
        return predictions_from_columns(
            _STATUSES[status].tolist(),
            np.where(judged, probability, None).tolist(),
            np.where(judged, kind, None).tolist(),
            [self.model_sha256] * count,
            batch_sha256(windows, checked, self._input_hash_key),
            checked.reasons,
            np.where(judged, threshold, None).tolist(),
            [self.model_version] * count,
            [self._input_hash] * count,
        )
