"""Irregularity features of a short interval series, computed for many windows at once.

Input is a NaN-padded matrix (one window per row, values left-aligned) of intervals in ms: the
beat-to-beat RR intervals, or 60000 / bpm for the one-per-second heart-rate readings. Every
feature is scale-free (divided by the window's own mean or median), so the model judges
irregularity, not rate. Two features ignore the most extreme values on purpose: one premature
beat moves two intervals and three successive differences, AF moves nearly all of them.
Runtime code: numpy only.
"""

from __future__ import annotations

import numpy as np

FEATURE_NAMES = (
    "cv",  # SD / mean
    "nrmssd",  # RMS of successive differences / mean
    "median_abs_diff",  # median |successive difference| / median
    "turning_point_ratio",  # share of interior points that are a local peak or trough (~2/3 random)
    "share_far_from_median",  # share of intervals more than 10% away from the median
    "share_big_diff",  # share of successive differences larger than 10% of the median
    "trimmed_dispersion",  # mean |x - median| / median without the 2 most extreme intervals
    "trimmed_abs_diff",  # mean |successive difference| / median without the 3 largest
)
N_FEATURES = len(FEATURE_NAMES)


def _row_median(sorted_rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    rows = np.arange(sorted_rows.shape[0])
    low = sorted_rows[rows, np.maximum(counts - 1, 0) // 2]
    high = sorted_rows[rows, counts // 2]
    return (low + high) / 2


def _mean_of_smallest(sorted_rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    # NaN padding sorts last, so the first `keep` entries of each row are its smallest values.
    cumulative = np.cumsum(np.nan_to_num(sorted_rows, nan=0.0), axis=1)
    rows = np.arange(sorted_rows.shape[0])
    keep = np.maximum(keep, 1)
    return cumulative[rows, keep - 1] / keep


def series_features(intervals: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Features (float32, shape (windows, N_FEATURES)) of NaN-padded rows with `counts` values.

    Callers guarantee counts >= 5 and finite, positive values in the first `counts` columns.
    """
    x = np.asarray(intervals, dtype=np.float64)
    n = counts.astype(np.float64)
    valid = ~np.isnan(x)
    x0 = np.where(valid, x, 0.0)
    mean = x0.sum(axis=1) / n
    centred = np.where(valid, x - mean[:, None], 0.0)
    sd = np.sqrt((centred**2).sum(axis=1) / n)

    diffs = x[:, 1:] - x[:, :-1]  # NaN wherever either side is padding
    diff_valid = ~np.isnan(diffs)
    n_diffs = counts - 1
    abs_diffs = np.abs(diffs)
    rmssd = np.sqrt(np.where(diff_valid, diffs**2, 0.0).sum(axis=1) / n_diffs)

    median = _row_median(np.sort(x, axis=1), counts)
    sorted_abs_diffs = np.sort(abs_diffs, axis=1)
    median_abs_diff = _row_median(sorted_abs_diffs, n_diffs)

    with np.errstate(invalid="ignore"):
        turning = (diffs[:, :-1] * diffs[:, 1:]) < 0  # NaN compares False
        deviation = np.abs(x - median[:, None])
        far = deviation > 0.1 * median[:, None]
        big = abs_diffs > 0.1 * median[:, None]
    turning_ratio = turning.sum(axis=1) / np.maximum(counts - 2, 1)

    trimmed_dispersion = _mean_of_smallest(np.sort(deviation, axis=1), counts - 2)
    trimmed_abs_diff = _mean_of_smallest(sorted_abs_diffs, n_diffs - 3)

    features = np.column_stack(
        [
            sd / mean,
            rmssd / mean,
            median_abs_diff / median,
            turning_ratio,
            far.sum(axis=1) / n,
            big.sum(axis=1) / n_diffs,
            trimmed_dispersion / median,
            trimmed_abs_diff / median,
        ]
    )
    return features.astype(np.float32)
