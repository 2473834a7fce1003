"""The fourteen features of ONE window, written from their definitions (the test oracle).

One window, no padding and no shared sums: each feature as services/predict/features.py's
FEATURE_NAMES describe it, with numpy's own median, sort, std and least squares. Slow (~14
small numpy calls per feature) and kept out of the runtime on purpose: the batch code there is
the fast one, and the tests hold it to these answers.
"""

from __future__ import annotations

import numpy as np

from services.predict.features import FEATURE_NAMES


def _ar2_unexplained(centred: np.ndarray) -> float:
    """Share of the variance of x[t] (t >= 2) that x[t-1], x[t-2] leave, by least squares."""
    target = centred[2:]
    total = float(target @ target)
    if total == 0:
        return 0.0
    lagged = np.column_stack([centred[1:-1], centred[:-2]])
    coefficients, *_ = np.linalg.lstsq(lagged, target, rcond=None)
    residual = target - lagged @ coefficients
    return float(np.clip(residual @ residual / total, 0.0, 1.0))


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
    values = {
        "cv": sd / mean,
        "nrmssd": np.sqrt(mean_d2) / mean,
        "median_abs_diff": np.median(np.abs(d)) / median,
        "turning_point_ratio": np.sum(d[:-1] * d[1:] < 0) / (n - 2),
        "share_far_from_median": np.mean(deviation > 0.1 * median),
        "share_big_diff": np.mean(np.abs(d) > 0.1 * median),
        "trimmed_dispersion": np.mean(np.sort(deviation)[: n - 2]) / median,
        "trimmed_abs_diff": np.mean(np.sort(np.abs(d))[: n - 4]) / median,
        "ar2_unexplained": _ar2_unexplained(centred),
        "lag1_autocorrelation": lag1,
        # Poincare SD1/SD2 through the lag-1 autocorrelation (Brennan et al. 2001)
        "sd1_sd2": np.sqrt(max(1 - lag1, 0.0) / (1 + lag1)) if total > 0 else 0.0,
        "diff_peakedness": np.mean(d**4) / mean_d2**2 if mean_d2 > 0 else 0.0,
        "second_to_first_diff": (
            np.sqrt(np.mean(np.diff(d) ** 2) / mean_d2) if mean_d2 > 0 else 0.0
        ),
        "diff_lag1_autocorrelation": (float(d[1:] @ d[:-1]) / float(d @ d) if mean_d2 > 0 else 0.0),
    }
    assert tuple(values) == FEATURE_NAMES
    return {name: float(value) for name, value in values.items()}
