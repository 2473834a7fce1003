"""The prediction interface every backend implements and every caller (the peers) codes against.

A Window is one user's aligned 10-second slice: the ~10 one-per-second heart-rate readings every
device sends, and the beat-to-beat (RR) intervals when the device has them. A Prediction always
says which input it used, which model answered (sha256 of the ONNX bytes) and what it was asked
(sha256 of the window, see `window_sha256`), so each output can be traced later (provenance).
Bad input is answered with status "insufficient_data" and a reason, never with a guess; a
malformed window in a batch gets that answer on its own, and the rest of the batch is answered.
A window says what its device sends (`signal`): without it the window is refused with a reason,
because an averaging watch's smoothed rate would otherwise be read as beat-derived.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields, make_dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from services.predict.settings import PredictSettings

Status = Literal["regular", "irregular", "insufficient_data"]
InputKind = Literal["rr", "hr"]
# What the device sends, as readings declare it (services/ingest/reading.py SIGNALS): beat-to-beat
# intervals, a rate from the last beat, or a rate averaged over several beats (most watches).
Signal = Literal["rr", "hr_instantaneous", "hr_averaged"]
SIGNALS: tuple[Signal, ...] = ("rr", "hr_instantaneous", "hr_averaged")

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
    # What the device sends (SIGNALS). None is refused with a reason: an averaged rate (most
    # watches) judged as beat-derived would answer a falsely reassuring "regular" on AF.
    signal: Signal | None = None
    # The same person's values from the minute before this window (up to CONTEXT_SECONDS, oldest
    # first), as the device sent them: a window is judged together with them. Ten seconds hold
    # 7-12 beats, where a young person's respiratory sinus arrhythmia can look as irregular as AF;
    # a minute tells them apart (docs/decisions/2026-12-04-screen-context.md). Optional: without
    # it the window is judged as a person's first window is.
    context_heart_rates: Sequence[float] | None = None
    context_rr_ms: Sequence[float] | None = None


CONTEXT_SECONDS = 50  # callers send the five windows before; more is cut (oldest values first)


# Slots: a batch makes one Prediction per window, and each object the garbage collector tracks
# costs it time again later (a __dict__ per answer would double that).
@dataclass(frozen=True, slots=True)
class Prediction:
    status: Status
    probability: float | None  # None when insufficient_data
    input_kind: InputKind | None  # None when insufficient_data
    model_sha256: str  # sha256 of the ONNX model bytes that answered
    input_sha256: str  # window_sha256(window[, key]): what was asked
    reason: str | None = None  # why the answer is insufficient_data, or which input was skipped
    threshold: float | None = None  # the decision threshold the probability was compared with
    model_version: str | None = None
    input_hash: Literal["sha256", "hmac-sha256"] = "sha256"  # how input_sha256 was computed

    def as_dict(self) -> dict:
        """The fields as they are (dataclasses.asdict deep-copies them, about 10x slower)."""
        return {name: getattr(self, name) for name in _PREDICTION_FIELDS}


_PREDICTION_FIELDS = tuple(field.name for field in fields(Prediction))
# The same slots, not frozen: filled by its plain __init__, then given Prediction's class.
# CPython allows that change only between identical slot layouts, and refuses it otherwise.
_UnfrozenPrediction = make_dataclass(
    "_UnfrozenPrediction", [(field.name, field.type) for field in fields(Prediction)], slots=True
)


def predictions_from_columns(*columns: list) -> list[Prediction]:
    """Predictions from one list per field, in field order: the batch path's constructor.

    A frozen dataclass's __init__ sets each field through object.__setattr__, about 1.5 us a
    prediction, a seventh of the batch budget (100k windows per CPU-second). Built unfrozen
    and then given the class, they are the same objects (type Prediction, equal, hashable,
    frozen against later assignment) in a third of the time.
    """
    if len({len(column) for column in columns}) > 1:
        raise ValueError("columns of unequal length")
    out = list(map(_UnfrozenPrediction, *columns))
    for prediction in out:
        prediction.__class__ = Prediction
    return out


class Predictor(Protocol):
    def predict(self, window: Window) -> Prediction: ...

    def predict_batch(self, windows: Sequence[Window]) -> list[Prediction]: ...


_HASH_DOMAIN = b"pulseledger/window/v2\x00"
_NO_RR = 0xFFFFFFFF
_NO_SIGNAL = b"\x00"
_CONTEXT_MARK = b"\x02"


def _values_bytes(values: Sequence[float]) -> bytes:
    # numpy's float64 conversion is the canonical one, the same the batch path applies
    # (None becomes NaN, "72" becomes 72.0), so both paths fingerprint identical bytes.
    try:
        array = np.asarray(values, dtype="<f8")
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1:
        # Not a list of numbers (the window is answered insufficient_data): fingerprint its repr.
        try:
            text = repr(list(values)).encode()
        except TypeError:  # not even a sequence (None, a number)
            text = repr(values).encode()
        return struct.pack("<I", 0xFFFFFFFE) + struct.pack("<I", len(text)) + text
    return struct.pack("<I", array.size) + array.tobytes()


def signal_bytes(signal: object) -> bytes:
    """0x00 for no declared signal, else 0x01 + length (uint8) + the utf-8 name (or its repr)."""
    if signal is None:
        return _NO_SIGNAL
    text = (signal if isinstance(signal, str) else repr(signal)).encode()[:255]
    return b"\x01" + bytes((len(text),)) + text


def context_bytes(window: Window) -> bytes:
    """b"" for a window without context (its message is the one it always had), else 0x02, then
    the context heart rates and RR intervals as the window's own (0xFFFFFFFF for None)."""
    hr, rr = window.context_heart_rates, window.context_rr_ms
    if hr is None and rr is None:
        return b""
    none = struct.pack("<I", _NO_RR)
    return b"".join((_CONTEXT_MARK, none if hr is None else _values_bytes(hr),
                     none if rr is None else _values_bytes(rr)))


def window_message(window: Window) -> bytes:
    """The bytes a window's fingerprint is computed over, from its materialised values.

    Binary, not JSON, because it runs once per window on the batch path (100k windows/s budget):
    domain tag, user id (utf-8, NUL-terminated), start_ms (int64 LE), count (uint32) + float64 LE
    heart rates, then 0xFFFFFFFF when no RR intervals were sent, else count + float64 LE RR
    intervals, each converted as numpy converts to float64 (None is NaN), then the signal
    (signal_bytes), then the context (context_bytes) when the window has one. Values numpy
    cannot convert hash as their repr under the count 0xFFFFFFFE.
    Iterators are read once, first (window_values.materialise), so a generator's values are
    hashed, not the exhausted generator; a field that cannot be read hashes as its repr.
    """
    from services.predict.window_values import materialise

    window, _problem = materialise(window)
    rr = struct.pack("<I", _NO_RR) if window.rr_ms is None else _values_bytes(window.rr_ms)
    # A malformed user id or start (answered as invalid) hashes as its repr after 0xFF, a byte
    # utf-8 never produces, so it cannot collide with a well-formed window.
    user = (
        window.user_id.encode(errors="surrogatepass")
        if isinstance(window.user_id, str)
        else b"\xff" + repr(window.user_id).encode()
    )
    start_ms = window.start_ms
    if not isinstance(start_ms, int) or not -(2**63) <= start_ms < 2**63:
        user, start_ms = user + b"\xff" + repr(start_ms).encode(), 0
    return b"".join(
        (
            _HASH_DOMAIN,
            user,
            b"\x00",
            struct.pack("<q", start_ms),
            _values_bytes(window.heart_rates),
            rr,
            signal_bytes(window.signal),
            context_bytes(window),
        )
    )


def fingerprint(message: bytes, key: bytes | None = None) -> str:
    """sha256 of the message, or HMAC-SHA256 under `key`.

    A window holds few, predictable numbers: with its user id and start time known, a plain
    sha256 can be reversed by trying plausible heart rates. Wherever a fingerprint may be seen
    by others (a shared log, a chain), configure a key (settings.input_hash_key) so it cannot be.
    """
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def window_sha256(window: Window, key: bytes | None = None) -> str:
    """A stable fingerprint of everything a prediction was computed from (see window_message)."""
    return fingerprint(window_message(window), key)


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
