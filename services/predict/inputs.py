"""Windows → checked interval matrices, with a clear reason for every window that cannot be judged.

A window is judged on its RR intervals when they are present and usable, otherwise on its
one-per-second heart rates; when neither is usable the answer is "insufficient_data" with the
reason, never a guess. Bounds are physiological (25-240 bpm) and sized for a 10-second window.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.predict.artefacts import (
    ARTEFACT_RULE,
    MAX_RR_ARTEFACTS,
    RR_MAX_MS,
    RR_MIN_MS,
    repair_artefacts,
)
from services.predict.base import (
    SIGNALS,
    Window,
)
from services.predict.context import ContextValues, read_context
from services.predict.context_features import context_features
from services.predict.features import series_features

# 6: a window keeps its judgement with up to 4 of its 10 seconds missing (dropped readings)
MIN_HR_READINGS, MAX_HR_READINGS = 6, 12
HR_MIN_BPM, HR_MAX_BPM = 25.0, 240.0
MIN_RR_INTERVALS, MAX_RR_INTERVALS = 7, 40
RR_SPAN_MIN_MS, RR_SPAN_MAX_MS = 5_000.0, 15_000.0  # the intervals must cover ~10 s
# Context values kept (the most recent): CONTEXT_SECONDS of beats up to 240 bpm, of 1 Hz rates
MAX_CONTEXT_RR, MAX_CONTEXT_HR = 200, 60
AVERAGED_REASON = (
    "heart_rates: averaged over several beats; this model judges only beat-derived heart rates "
    "or rr_ms"
)
# A heart-rate window with fewer readings than its seconds (dropped by the radio link) is judged
# against a threshold of its own (model metadata "hr_gappy", training/train.py says why).
GAPPY_KIND = "hr_gappy"
FULL_HR_READINGS = 10


def is_gappy(hr_counts: np.ndarray) -> np.ndarray:
    return hr_counts < FULL_HR_READINGS



@dataclass
class CheckedBatch:
    hr: np.ndarray  # (windows, MAX_HR_READINGS) bpm, NaN-padded
    hr_counts: np.ndarray
    rr: np.ndarray  # (windows, MAX_RR_INTERVALS) ms, NaN-padded
    rr_counts: np.ndarray  # -1 where the device sent no RR intervals
    use_rr: np.ndarray  # bool: judged on RR intervals
    use_hr: np.ndarray  # bool: judged on heart rates
    reasons: list[str | None]  # why insufficient, or which input was skipped; None when clean
    stored_exactly: np.ndarray  # bool: every value sent is in the matrices as sent (for hashing)
    rr_judged: np.ndarray  # rr after artefact repair (the features' input; rr stays as sent)
    rr_judged_counts: np.ndarray
    # the contexts as sent: for the features (context_features keeps the values in range) and
    # the fingerprints
    context_hr: ContextValues
    context_rr: ContextValues


def _as_float_list(values: Sequence[float] | None) -> list[float] | None:
    if values is None:
        return None
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        # Not numbers: NaN of the same length fails the checks below with a clear reason.
        return [math.nan] * (len(values) if hasattr(values, "__len__") else 1)


def _fill(rows: list, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(NaN-padded matrix, counts, stored exactly) from rows of numbers of any length.

    The matrix is as wide as the longest row that fits under `width`: narrower rows sort faster.
    """
    counts = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    fitting = counts[counts <= width]
    matrix = np.full((len(rows), max(int(fitting.max()) if fitting.size else 1, 3)), np.nan)
    fits = counts <= width
    exact = fits.copy()
    if fits.all() and counts.size:
        # One flat pass (numpy's float conversion, ~2x faster than np.asarray over a list of
        # lists), then into the padded matrix: a reshape when every row has the same length.
        try:
            flat = np.fromiter(itertools.chain.from_iterable(rows), np.float64, int(counts.sum()))
        except (TypeError, ValueError):
            flat = None  # a value numpy cannot convert: row by row below
        if flat is not None:
            if (counts == counts[0]).all():
                matrix[:, : counts[0]] = flat.reshape(len(rows), counts[0])
            else:
                row_index = np.repeat(np.arange(len(rows)), counts)
                column_index = np.arange(flat.size) - np.repeat(np.cumsum(counts) - counts, counts)
                matrix[row_index, column_index] = flat
            return matrix, counts, exact
    for i, row in enumerate(rows):
        if fits[i] and len(row):
            try:
                matrix[i, : len(row)] = row
            except (TypeError, ValueError):
                matrix[i, : len(row)] = _as_float_list(row)
                exact[i] = False
    return matrix, counts, exact


def _signal_problem(signal: object) -> str | None:
    if signal is None:
        return (
            "signal: not declared; the device must say what it sends "
            f"({', '.join(SIGNALS)}), an averaged rate read as beat-derived misses AF"
        )
    if signal not in SIGNALS:
        return f"signal: {signal!r} is not one of {', '.join(SIGNALS)}"
    return None


def check_windows(windows: Sequence[Window], invalid: Sequence[str | None] = ()) -> CheckedBatch:
    """Check materialised windows (window_values.materialise); `invalid[i]` refuses window i."""
    hr_rows = []
    rr_rows = []
    n = len(windows)
    rr_sent = np.zeros(n, dtype=bool)
    plain = np.ones(n, dtype=bool)  # lists or tuples, hashed straight from the matrix
    averaged = np.zeros(n, dtype=bool)
    refused: dict[int, str] = {i: why for i, why in enumerate(invalid) if why}
    for i, w in enumerate(windows):
        signal = w.signal
        if type(signal) is not str or signal not in SIGNALS:
            refused.setdefault(i, _signal_problem(signal))
        elif signal == "hr_averaged":
            averaged[i] = True
        hr = w.heart_rates
        if isinstance(hr, list | tuple):
            hr_rows.append(hr)
        else:
            hr_rows.append(_as_float_list(hr) or ())
            plain[i] = False
        rr = w.rr_ms
        if rr is None:
            rr_rows.append(())
        elif isinstance(rr, list | tuple):
            rr_sent[i] = True
            rr_rows.append(rr)
        else:
            rr_sent[i] = True
            rr_rows.append(_as_float_list(rr))
            plain[i] = False
    if refused:
        plain[list(refused)] = False  # hashed one by one (window_sha256 handles odd fields)
    hr, hr_counts, hr_exact = _fill(hr_rows, MAX_HR_READINGS)
    rr, rr_counts, rr_exact = _fill(rr_rows, MAX_RR_INTERVALS)
    rr_counts = np.where(rr_sent, rr_counts, -1)

    hr_present = ~np.isnan(hr)
    hr_count_ok = (hr_counts >= MIN_HR_READINGS) & (hr_counts <= MAX_HR_READINGS)
    # NaN padding beyond the count is expected; a NaN inside the count is a bad reading.
    hr_finite = hr_present.sum(axis=1) == hr_counts
    with np.errstate(invalid="ignore"):
        hr_in_range = ~(((hr < HR_MIN_BPM) | (hr > HR_MAX_BPM)) & hr_present).any(axis=1)
    use_hr = hr_count_ok & hr_finite & hr_in_range

    rr_present = ~np.isnan(rr)
    # inf is as unreadable as NaN; an interval of zero or less is not a beat-detection artefact
    # but a broken device, so neither is repaired.
    with np.errstate(invalid="ignore"):
        rr_finite = (np.isfinite(rr).sum(axis=1) == rr_counts) & ~((rr <= 0) & rr_present).any(1)
        rr_out_of_range = ((rr < RR_MIN_MS) | (rr > RR_MAX_MS)) & rr_present
    rr_judged, rr_judged_counts, artefacts = repair_artefacts(
        rr, rr_counts, rr_out_of_range.any(axis=1) & rr_sent & rr_finite
    )
    rr_count_ok = (rr_judged_counts >= MIN_RR_INTERVALS) & (rr_judged_counts <= MAX_RR_INTERVALS)
    rr_in_range = artefacts <= MAX_RR_ARTEFACTS
    span = np.where(np.isnan(rr_judged), 0.0, rr_judged).sum(axis=1)
    rr_span_ok = (span >= RR_SPAN_MIN_MS) & (span <= RR_SPAN_MAX_MS)
    use_rr = rr_sent & rr_count_ok & rr_finite & rr_in_range & rr_span_ok
    use_hr &= ~use_rr & ~averaged
    if refused:
        gone = list(refused)
        use_rr[gone] = use_hr[gone] = False

    reasons: list[str | None] = [None] * n
    for i in np.flatnonzero(~use_rr & (rr_sent | ~use_hr)):
        if i in refused:
            continue
        hr_problem = AVERAGED_REASON if averaged[i] else _problem(
            "heart_rates", hr_counts[i], MIN_HR_READINGS, MAX_HR_READINGS,
            hr_finite[i], hr_in_range[i], f"{HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm",
        )  # fmt: skip
        rr_problem = None
        if rr_sent[i]:
            artefact_problem = (
                None
                if rr_in_range[i] or not rr_finite[i]
                else (
                    f"rr_ms: {artefacts[i]} intervals outside {RR_MIN_MS:g}-{RR_MAX_MS:g} ms "
                    f"(beat-detection artefacts; at most {MAX_RR_ARTEFACTS} are repaired)"
                )
            )
            rr_problem = artefact_problem or _problem(
                "rr_ms", rr_judged_counts[i], MIN_RR_INTERVALS, MAX_RR_INTERVALS,
                rr_finite[i], True, "",
            ) or (None if rr_span_ok[i] else (
                f"rr_ms: the intervals cover {span[i] / 1000:.1f} s, expected "
                f"{RR_SPAN_MIN_MS / 1000:g}-{RR_SPAN_MAX_MS / 1000:g} s"
            ))  # fmt: skip
        if use_hr[i]:
            reasons[i] = f"judged on heart_rates because {rr_problem}"
        else:
            reasons[i] = "; ".join(p for p in (rr_problem, hr_problem) if p)
    for i in np.flatnonzero(use_rr & (artefacts > 0)):
        reasons[i] = f"rr_ms: {artefacts[i]} artefact interval(s) repaired ({ARTEFACT_RULE})"
    for i, why in refused.items():
        reasons[i] = why
    context_hr = read_context([w.context_heart_rates for w in windows])
    context_rr = read_context([w.context_rr_ms for w in windows])
    stored_exactly = hr_exact & rr_exact & plain & context_hr.exact & context_rr.exact
    return CheckedBatch(
        hr, hr_counts, rr, rr_counts, use_rr, use_hr, reasons, stored_exactly,
        rr_judged, rr_judged_counts, context_hr, context_rr,
    )  # fmt: skip


def _problem(name, count, low, high, finite, in_range, bounds) -> str | None:
    if not low <= count <= high:
        return f"{name}: {count} values, need {low}-{high}"
    if not finite:
        return f"{name}: contains a missing, non-numeric or non-positive value (NaN)"
    if not in_range:
        return f"{name}: a value is outside {bounds}"
    return None


def features_of(checked: CheckedBatch) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows (MODEL_FEATURE_NAMES: the window's own, then with its context) for the
    windows judged on RR intervals, and for those judged on heart rates."""
    use_rr, use_hr = checked.use_rr, checked.use_hr
    rr_counts = np.maximum(checked.rr_judged_counts, 0)
    rr = np.hstack((
        series_features(checked.rr_judged[use_rr], rr_counts[use_rr]),
        context_features(checked.context_rr, MAX_CONTEXT_RR, RR_MIN_MS, RR_MAX_MS,
                         checked.rr_judged, rr_counts, use_rr),
    ))  # fmt: skip
    with np.errstate(divide="ignore", over="ignore"):  # rows with a 0 bpm are not judged
        hr_intervals = 60_000 / checked.hr
    hr = np.hstack((
        series_features(hr_intervals[use_hr], checked.hr_counts[use_hr]),
        context_features(checked.context_hr, MAX_CONTEXT_HR, HR_MIN_BPM, HR_MAX_BPM,
                         hr_intervals, checked.hr_counts, use_hr, as_interval=True),
    ))  # fmt: skip
    return rr, hr
