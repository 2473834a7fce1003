"""The twenty-one features of ONE window, written from their definitions (the test oracle).

One window, no padding and no shared sums: each feature as services/predict/features.py's
FEATURE_NAMES describe it, with numpy's own median, sort, std and least squares. Slow (~14
small numpy calls per feature) and kept out of the runtime on purpose: the batch code there is
the fast one, and the tests hold it to these answers.
"""

from __future__ import annotations

import numpy as np

from services.predict.features import FEATURE_NAMES


def _ar2(centred: np.ndarray) -> tuple[float, float, float]:
    """Of x[t] (t >= 2) regressed on x[t-1], x[t-2] by least squares: the share of its variance
    left unexplained, the same without the 3 largest squared residuals, and the share of the
    residual energy in those 3."""
    target = centred[2:]
    total = float(target @ target)
    if total == 0:
        return 0.0, 0.0, 0.0
    lagged = np.column_stack([centred[1:-1], centred[:-2]])
    coefficients, *_ = np.linalg.lstsq(lagged, target, rcond=None)
    squared = np.sort((target - lagged @ coefficients) ** 2)
    energy, largest3 = float(squared.sum()), float(squared[-3:].sum())
    unexplained = float(np.clip(energy / total, 0.0, 1.0))
    if energy <= 1e-9 * total:  # rounding noise: no residual shape to measure
        return unexplained, 0.0, 0.0
    return unexplained, float(np.clip((energy - largest3) / total, 0.0, 1.0)), largest3 / energy


def reference_features(intervals) -> dict[str, float]:
    """The features of one window's intervals (ms): every value sent, finite and positive."""
    x = np.asarray(intervals, dtype=np.float64)
    n = x.size
    d = np.diff(x)
    mean, median = x.mean(), np.median(x)
    centred = np.zeros(n) if np.all(x == x[0]) else x - mean  # a constant rate: no irregularity
    total = float(centred @ centred)
    sd = np.sqrt(total / n)
    mean_d2 = float(np.mean(d**2))
    lag1 = float(centred[1:] @ centred[:-1]) / total if total > 0 else 0.0
    deviation = np.abs(x - median)
    ar2_unexplained, ar2_trimmed, residual_top3 = _ar2(centred)
    squared_d = np.sort(d**2)
    trimmed = np.sort(x)[1:-1]  # without the shortest and the longest interval
    spread = trimmed - trimmed.mean()
    if np.all(trimmed == trimmed[0]):
        trimmed_skewness = trimmed_kurtosis = 0.0
    else:
        trimmed_skewness = np.mean(spread**3) / np.mean(spread**2) ** 1.5
        trimmed_kurtosis = np.mean(spread**4) / np.mean(spread**2) ** 2
    values = {
        "cv": sd / mean,
        "nrmssd": np.sqrt(mean_d2) / mean,
        "median_abs_diff": np.median(np.abs(d)) / median,
        "turning_point_ratio": np.sum(d[:-1] * d[1:] < 0) / (n - 2),
        "share_far_from_median": np.mean(deviation > 0.1 * median),
        "share_big_diff": np.mean(np.abs(d) > 0.1 * median),
        "trimmed_dispersion": np.mean(np.sort(deviation)[: n - 2]) / median,
        "trimmed_abs_diff": np.mean(np.sort(np.abs(d))[: n - 4]) / median,
        "ar2_unexplained": ar2_unexplained,
        "lag1_autocorrelation": lag1,
        # Poincare SD1/SD2 through the lag-1 autocorrelation (Brennan et al. 2001)
        "sd1_sd2": np.sqrt(max(1 - lag1, 0.0) / (1 + lag1)) if total > 0 else 0.0,
        "diff_peakedness": np.mean(d**4) / mean_d2**2 if mean_d2 > 0 else 0.0,
        "second_to_first_diff": (
            np.sqrt(np.mean(np.diff(d) ** 2) / mean_d2) if mean_d2 > 0 else 0.0
        ),
        "diff_lag1_autocorrelation": (float(d[1:] @ d[:-1]) / float(d @ d) if mean_d2 > 0 else 0.0),
        "ar2_trimmed_unexplained": ar2_trimmed,
        "ar2_residual_top3_share": residual_top3,
        "diff_top2_share": squared_d[-2:].sum() / squared_d.sum() if mean_d2 > 0 else 0.0,
        "shortest_below_median": (median - x.min()) / median,
        "longest_above_median": (x.max() - median) / median,
        "trimmed_skewness": trimmed_skewness,
        "trimmed_kurtosis": trimmed_kurtosis,
    }
    assert tuple(values) == FEATURE_NAMES
    return {name: float(value) for name, value in values.items()}
