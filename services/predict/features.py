"""Irregularity features of a short interval series, computed for many windows at once.

Input is a NaN-padded matrix (one window per row, values left-aligned) of intervals in ms: the
beat-to-beat RR intervals, or 60000 / bpm for the one-per-second heart-rate readings. Every
feature is scale-free (divided by the window's own mean or median), so the model judges
irregularity, not rate. Two features ignore the most extreme values on purpose: one premature
beat moves two intervals and three successive differences, AF moves nearly all of them.

Computed by one compiled pass per window (numba, cached on disk after the first run): as
whole-matrix numpy steps the same features cost ~2 us a window, a fifth of the batch budget
(100k windows per CPU-second); here ~0.3 us, equal to the bit (feature_math.numpy_sum).
"""

from __future__ import annotations

import math

import numpy as np

from services.predict.compiled import compiled
from services.predict.feature_math import (
    ar2_unexplained,
    lag1_and_poincare,
    mean_of_smallest,
    median_of_sorted,
    numpy_sum,
    sort_into,
)

FEATURE_NAMES = (
    "cv",  # SD / mean
    "nrmssd",  # RMS of successive differences / mean
    "median_abs_diff",  # median |successive difference| / median
    "turning_point_ratio",  # share of interior points that are a local peak or trough (~2/3 random)
    "share_far_from_median",  # share of intervals more than 10% away from the median
    "share_big_diff",  # share of successive differences larger than 10% of the median
    "trimmed_dispersion",  # mean |x - median| / median without the 2 most extreme intervals
    "trimmed_abs_diff",  # mean |successive difference| / median without the 3 largest
    # Issue 16: respiratory sinus arrhythmia is large in young people but periodic, AF is not.
    "ar2_unexplained",  # share of variance a 2-term autoregression leaves (a sine: ~0, AF: ~1)
    "lag1_autocorrelation",  # of the intervals about their mean
    "sd1_sd2",  # Poincare plot width / length (Brennan, Palaniswami & Kamen, IEEE TBME 2001)
    "diff_peakedness",  # mean d^4 / (mean d^2)^2 of successive differences (ectopy: high)
    "second_to_first_diff",  # RMS second difference / RMS first (smooth: <1.4, independent: 1.7)
    "diff_lag1_autocorrelation",  # of successive differences (independent intervals: -0.5)
    # One bad beat (a detection artefact or an ectopic beat) in a large sinus arrhythmia disturbs
    # at most 3 terms of the autoregression and 3 successive differences, AF disturbs all terms:
    # how much of the irregularity sits in a few terms, and how much is left without them.
    "ar2_trimmed_unexplained",  # ar2_unexplained without its 3 largest squared residuals
    "ar2_residual_top3_share",  # share of the autoregression's residual energy in its 3 largest
    "diff_top2_share",  # share of the squared successive differences in the 2 largest
    # The shape of the intervals' distribution. A sampled sine (respiratory sinus arrhythmia,
    # however large) piles its values at both ends: no skew, kurtosis 1.5. The AV node in AF
    # passes no beat before its refractory period ends, so AF intervals start at a floor and trail
    # off long: skewed to long intervals, heavier-tailed. Slow (rate-controlled) AF and a young
    # person's sinus arrhythmia differ most here. The moments leave out the shortest and the
    # longest interval, where one artefact or premature beat would dominate them.
    "shortest_below_median",  # (median - shortest) / median
    "longest_above_median",  # (longest - median) / median
    "trimmed_skewness",  # third standardised moment without the shortest and longest interval
    "trimmed_kurtosis",  # fourth, likewise (not excess: a constant rate gives 0)
)
N_FEATURES = len(FEATURE_NAMES)
# Of the window with its context (the person's minute before, then the window: ~60-150 values),
# features that need no sort: on a series that long these separate as well as all 21 (docs/
# decisions/2026-12-04-screen-context.md), and sorting ~100 values per window would cost more
# than the rest of its judgement. The distribution's shape keeps the threshold low where a
# minute holds several beat-detection artefacts; about the mean, not the median (a sort).
CONTEXT_FEATURE_NAMES = (
    "cv",
    "nrmssd",
    "turning_point_ratio",
    "ar2_unexplained",
    "lag1_autocorrelation",
    "sd1_sd2",
    "diff_peakedness",
    "second_to_first_diff",
    "diff_lag1_autocorrelation",
    "shortest_below_mean",  # (mean - shortest) / mean
    "longest_above_mean",  # (longest - mean) / mean
    "trimmed_skewness",
    "trimmed_kurtosis",
)
N_CONTEXT_FEATURES = len(CONTEXT_FEATURE_NAMES)
# What the model reads per window (issue 16): the window's own features, then its context's.
MODEL_FEATURE_NAMES = FEATURE_NAMES + tuple(f"with_context_{n}" for n in CONTEXT_FEATURE_NAMES)
N_MODEL_FEATURES = len(MODEL_FEATURE_NAMES)


def series_features(intervals: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Features (float32, shape (windows, N_FEATURES)) of NaN-padded rows with `counts` values.

    Callers guarantee counts >= 5 and finite, positive values in the first `counts` columns.
    """
    x = np.ascontiguousarray(intervals, dtype=np.float64)
    out = np.empty((x.shape[0], N_FEATURES), dtype=np.float32)
    if x.shape[0]:
        _series_features(x, np.asarray(counts, dtype=np.int64), out)
    return out


@compiled
def _series_features(x, counts, out):
    """Each row's features into `out`. Every sum is over a row as wide as the matrix, zero past
    the window's values (numpy_sum: the order numpy took), so a window's features do not
    depend on the batch it came in beyond what they always did."""
    width = x.shape[1]
    a, b, e = np.zeros(width), np.zeros(width), np.zeros(width)  # terms to sum
    centred = np.zeros(width)  # x - mean, 0 past the values and for a constant window
    d = np.zeros(width)  # successive differences x[k+1] - x[k], 0 past the last
    abs_d = np.zeros(width)
    sorted_x, sorted_abs_d, sorted_deviation = np.empty(width), np.empty(width), np.empty(width)
    for i in range(x.shape[0]):
        n, row, features = counts[i], x[i], out[i]
        for k in range(width):
            a[k] = row[k] if k < n else 0.0
        mean = numpy_sum(a, width) / n
        sort_into(sorted_x, row, n)
        # A constant row's mean can miss its value by an ulp, by how much depending on the
        # padding width (the summation order): without this its correlations would be rounding
        # noise that changes with the batch a window is sent in.
        constant = sorted_x[0] == sorted_x[n - 1]
        for k in range(width):
            centred[k] = row[k] - mean if k < n and not constant else 0.0
            a[k] = centred[k] * centred[k]
        sum_of_squares = numpy_sum(a, width)
        sd = math.sqrt(sum_of_squares / n)

        n_diffs = n - 1
        for k in range(width - 1):
            d[k] = row[k + 1] - row[k] if k < n_diffs else 0.0
            abs_d[k] = abs(d[k])
            a[k] = d[k] * d[k]
            b[k] = a[k] * a[k]  # (d^2)^2
        d2 = numpy_sum(a, width - 1) / n_diffs  # mean squared successive difference
        d4 = numpy_sum(b, width - 1) / n_diffs
        skewness, kurtosis = _trimmed_moments(sorted_x, n, width, a, b, e)

        median = median_of_sorted(sorted_x, n)
        sort_into(sorted_abs_d, abs_d, n_diffs)
        far = big = turns = 0
        for k in range(n):
            a[k] = abs(row[k] - median)
            far += a[k] > 0.1 * median
        for k in range(n_diffs):
            big += abs_d[k] > 0.1 * median
        for k in range(width - 2):
            turns += d[k] * d[k + 1] < 0  # padding gives 0, never a turn
        sort_into(sorted_deviation, a, n)

        ar2, ar2_trimmed, residual_top3 = _periodicity(centred, n, width, a, b, e)
        for k in range(width - 1):
            a[k] = centred[k + 1] * centred[k]
        lag1, sd1_sd2 = lag1_and_poincare(numpy_sum(a, width - 1), sd, sum_of_squares)
        for k in range(width - 2):
            second = d[k + 1] - d[k] if k + 2 < n else 0.0
            a[k] = second * second
            b[k] = d[k + 1] * d[k]
        s2 = numpy_sum(a, width - 2) / max(n - 2, 1)
        diff_lag_sum = numpy_sum(b, width - 2)
        positive = d2 > 0
        safe_d2 = max(d2, 1e-12)
        energy = max(d2 * n_diffs, 1e-12)
        top2 = sorted_abs_d[n_diffs - 1] ** 2 + sorted_abs_d[n_diffs - 2] ** 2

        features[0] = sd / mean
        features[1] = math.sqrt(d2) / mean
        features[2] = median_of_sorted(sorted_abs_d, n_diffs) / median
        features[3] = turns / max(n - 2, 1)
        features[4] = far / n
        features[5] = big / n_diffs
        features[6] = mean_of_smallest(sorted_deviation, n - 2) / median
        features[7] = mean_of_smallest(sorted_abs_d, n_diffs - 3) / median
        features[8] = ar2
        features[9] = lag1
        features[10] = sd1_sd2
        features[11] = d4 / safe_d2**2 if positive else 0.0
        features[12] = math.sqrt(s2 / safe_d2) if positive else 0.0
        features[13] = diff_lag_sum / energy if positive else 0.0
        features[14] = ar2_trimmed
        features[15] = residual_top3
        features[16] = top2 / energy if positive else 0.0
        features[17] = (median - sorted_x[0]) / median
        features[18] = (sorted_x[n - 1] - median) / median
        features[19] = skewness
        features[20] = kurtosis


@compiled
def _trimmed_moments(sorted_x, n, width, a, b, e):
    """(skewness, kurtosis) of a window's values without its shortest and its longest one (the
    first and the last sorted); 0 and 0 where those remaining are all equal. a, b, e: scratch."""
    m = n - 2.0
    for k in range(width):
        a[k] = sorted_x[k] if 1 <= k < n - 1 else 0.0
    mean = numpy_sum(a, width) / m
    # compared, not measured: a mean off by an ulp must not turn a flat row into noise
    flat = sorted_x[1] == sorted_x[n - 2]
    for k in range(width):
        centred = sorted_x[k] - mean if 1 <= k < n - 1 and not flat else 0.0
        squared = centred * centred
        a[k] = squared
        b[k] = squared * centred
        e[k] = squared * squared
    if flat:
        return 0.0, 0.0
    m2, m3, m4 = numpy_sum(a, width) / m, numpy_sum(b, width) / m, numpy_sum(e, width) / m
    return m3 / (m2 * math.sqrt(m2)), m4 / (m2 * m2)


@compiled
def _periodicity(centred, n, width, a, b, e):
    """(AR(2) unexplained variance share, the unexplained share without the 3 largest squared
    residuals, the share of residual energy in those 3) of a window's centred values.

    A sampled sine obeys x[t] = 2cos(w) x[t-1] - x[t-2] exactly, so however large respiratory
    sinus arrhythmia is, a two-term autoregression explains it; AF's intervals are close to
    independent and leave nearly all their variance unexplained. Least squares through the 2x2
    normal equations over t from the third value on; a flat window counts as fully explained.
    """
    terms = width - 2
    for k in range(terms):  # x[t-1] x[t-1], x[t-2] x[t-2], x[t-1] x[t-2]
        x1 = centred[k + 1] if k + 2 < n else 0.0
        x2 = centred[k] if k + 2 < n else 0.0
        a[k], b[k], e[k] = x1 * x1, x2 * x2, x1 * x2
    s11, s22, s12 = numpy_sum(a, terms), numpy_sum(b, terms), numpy_sum(e, terms)
    for k in range(terms):  # x[t] x[t-1], x[t] x[t-2], x[t] x[t]
        x0 = centred[k + 2]
        x1 = centred[k + 1] if k + 2 < n else 0.0
        x2 = centred[k] if k + 2 < n else 0.0
        a[k], b[k], e[k] = x0 * x1, x0 * x2, x0 * x0
    s01, s02, s00 = numpy_sum(a, terms), numpy_sum(b, terms), numpy_sum(e, terms)
    unexplained, flat, coef1, coef2 = ar2_unexplained(s11, s22, s12, s01, s02, s00)
    first = second = third = 0.0  # the three largest squared residuals
    for k in range(terms):
        residual = centred[k + 2] - coef1 * centred[k + 1] - coef2 * centred[k] \
            if k + 2 < n else 0.0
        a[k] = residual * residual
        if a[k] > first:
            first, second, third = a[k], first, second
        elif a[k] > second:
            second, third = a[k], second
        elif a[k] > third:
            third = a[k]
    residual_energy = numpy_sum(a, terms)
    # A residual that is rounding noise (a sampled sine) has no shape to measure: both 0.
    if flat or residual_energy <= 1e-9 * s00:
        return unexplained, 0.0, 0.0
    top3 = ((0.0 + third) + second) + first  # summed as numpy summed the sorted three
    trimmed = min(max((residual_energy - top3) / (s00 if s00 > 0 else 1.0), 0.0), 1.0)
    return unexplained, trimmed, top3 / residual_energy
