"""The prediction interface every backend implements and every caller (the peers) codes against.

A Window is one user's aligned 10-second slice: the ~10 one-per-second heart-rate readings every
device sends, and the beat-to-beat (RR) intervals when the device has them. A Prediction always
says which input it used, which model answered (sha256 of the ONNX bytes) and what it was asked
(sha256 of the window, see `window_sha256`), so each output can be traced later (provenance).
Bad input is answered with status "insufficient_data" and a reason, never with a guess.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from services.predict.settings import PredictSettings

Status = Literal["regular", "irregular", "insufficient_data"]
InputKind = Literal["rr", "hr"]

SCREEN_NOT_DIAGNOSIS = (
    "This is a screen for an irregular rhythm, not a diagnosis: "
    "please confirm with a clinician and an ECG."
)


@dataclass(frozen=True)
class Window:
    """One user's aligned 10-second window."""

    user_id: str
    start_ms: int
    heart_rates: Sequence[float]  # the ~10 one-per-second readings (bpm)
    rr_ms: Sequence[float] | None = None  # beat-to-beat intervals when the device sends them


@dataclass(frozen=True)
class Prediction:
    status: Status
    probability: float | None  # None when insufficient_data
    input_kind: InputKind | None  # None when insufficient_data
    model_sha256: str  # sha256 of the ONNX model bytes that answered
    input_sha256: str  # window_sha256(window): what was asked
    reason: str | None = None  # why the answer is insufficient_data, or which input was skipped
    threshold: float | None = None  # the decision threshold the probability was compared with
    model_version: str | None = None


class Predictor(Protocol):
    def predict(self, window: Window) -> Prediction: ...

    def predict_batch(self, windows: Sequence[Window]) -> list[Prediction]: ...


_HASH_DOMAIN = b"pulseledger/window/v1\x00"
_NO_RR = 0xFFFFFFFF


def _values_bytes(values: Sequence[float]) -> bytes:
    try:
        floats = [float(v) for v in values]
    except (TypeError, ValueError):
        # Not numbers (the window is answered insufficient_data): fingerprint what was sent.
        text = repr(list(values)).encode()
        return struct.pack("<I", 0xFFFFFFFE) + struct.pack("<I", len(text)) + text
    return struct.pack(f"<I{len(floats)}d", len(floats), *floats)


def window_sha256(window: Window) -> str:
    """A stable fingerprint of everything a prediction was computed from.

    Binary, not JSON, because it runs once per window on the batch path (100k windows/s budget):
    domain tag, user id (utf-8, NUL-terminated), start_ms (int64 LE), count (uint32) + float64 LE
    heart rates, then 0xFFFFFFFF when no RR intervals were sent, else count + float64 LE RR
    intervals. NaN hashes as its bit pattern; non-numeric values hash as their repr under the
    count 0xFFFFFFFE.
    """
    digest = hashlib.sha256(_HASH_DOMAIN)
    digest.update(window.user_id.encode() + b"\x00" + struct.pack("<q", int(window.start_ms)))
    digest.update(_values_bytes(window.heart_rates))
    if window.rr_ms is None:
        digest.update(struct.pack("<I", _NO_RR))
    else:
        digest.update(_values_bytes(window.rr_ms))
    return digest.hexdigest()


def load_predictor(settings: PredictSettings | None = None) -> Predictor:
    """The predictor the settings ask for; the embedded default is the shipped local ONNX model."""
    from services.predict.settings import PredictSettings

    settings = settings or PredictSettings()
    if settings.backend == "onnx":
        from services.predict.onnx_predictor import OnnxPredictor

        return OnnxPredictor.from_settings(settings)
    if settings.backend == "sagemaker":
        from services.predict.sagemaker_predictor import SageMakerPredictor

        return SageMakerPredictor.from_settings(settings)
    raise ValueError(f"unknown prediction backend {settings.backend!r}")
