"""Repair of RR intervals a beat detector broke, so one bad beat does not cost the whole window.

A doubled detection (a T wave or motion spike counted as a beat) splits one interval in two; a
missed detection or a gap in the stream joins two or more. Intervals under 250 ms (above 240 bpm,
not a ventricular rhythm a person sustains) are merged with their shorter neighbour, which undoes
a split; intervals over 2400 ms (under 25 bpm) are dropped, which removes the gap without
inventing beats. Only a few repairs per window are trusted: beyond MAX_RR_ARTEFACTS the window is
answered "insufficient signal" with the count, because the rest of the series is suspect too.
In-range artefacts (a missed beat at 60 bpm gives 2000 ms) are left to the model, which is
trained on windows with such artefacts (training/simulators.add_detection_artefacts).
"""

from __future__ import annotations

import numpy as np

RR_MIN_MS, RR_MAX_MS = 250.0, 2400.0
MAX_RR_ARTEFACTS = 2
ARTEFACT_RULE = "under 250 ms merged with a neighbour, over 2400 ms dropped"


def _repair_row(values: list[float]) -> tuple[list[float], int]:
    repairs = sum(v > RR_MAX_MS for v in values)
    values = [v for v in values if v <= RR_MAX_MS]
    while values and min(values) < RR_MIN_MS and len(values) > 1:
        i = values.index(min(values))
        left = values[i - 1] if i > 0 else np.inf
        right = values[i + 1] if i + 1 < len(values) else np.inf
        j = i - 1 if left <= right else i + 1
        low, high = min(i, j), max(i, j)
        values[low : high + 1] = [values[low] + values[high]]
        repairs += 1
    return values, repairs


def repair_artefacts(
    rr: np.ndarray, counts: np.ndarray, needs_repair: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(repaired NaN-padded matrix, counts, repairs per row); rows not needing repair are shared.

    Rows are repaired one by one in Python: artefacts are rare, the clean matrix is not copied.
    """
    repairs = np.zeros(rr.shape[0], dtype=np.int64)
    rows = np.flatnonzero(needs_repair)
    if rows.size == 0:
        return rr, counts, repairs
    rr, counts = rr.copy(), counts.copy()
    for i in rows.tolist():
        values, repairs[i] = _repair_row(rr[i, : counts[i]].tolist())
        rr[i, :] = np.nan
        rr[i, : len(values)] = values
        counts[i] = len(values)
    return rr, counts, repairs
