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


def _row_median(sorted_rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    rows = np.arange(sorted_rows.shape[0])
    low = sorted_rows[rows, np.maximum(counts - 1, 0) // 2]
    high = sorted_rows[rows, counts // 2]
    return (low + high) / 2


def _mean_of_smallest(sorted_rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    # NaN padding sorts last, so the first `keep` entries of each row are its smallest values;
    # a running sum never looks ahead, so the padding cannot reach the sums read here.
    cumulative = np.cumsum(sorted_rows, axis=1)
    rows = np.arange(sorted_rows.shape[0])
    keep = np.maximum(keep, 1)
    return cumulative[rows, keep - 1] / keep


def series_features(intervals: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Features (float32, shape (windows, N_FEATURES)) of NaN-padded rows with `counts` values.

    Callers guarantee counts >= 5 and finite, positive values in the first `counts` columns.
    Every sum is over a zero-filled copy, so padding adds exact zeros; the sums, squares and
    sorts are shared between features (one batch of 100k windows is the speed budget: every
    whole-matrix operation here costs about 1% of it).
    """
    x = np.asarray(intervals, dtype=np.float64)
    if x.shape[0] == 0:  # one window is judged on one input: skip the other's ~60 array ops
        return np.empty((0, N_FEATURES), dtype=np.float32)
    n = counts.astype(np.float64)
    valid = ~np.isnan(x)
    mean = np.where(valid, x, 0.0).sum(axis=1) / n
    sorted_x = np.sort(x, axis=1)
    rows = np.arange(x.shape[0])
    # A constant row's mean can miss its value by an ulp, and by how much depends on the padding
    # width (the summation order): without this its correlations would be rounding noise that
    # changes with the batch a window is sent in.
    constant = sorted_x[:, 0] == sorted_x[rows, counts - 1]
    centred = np.where(valid & ~constant[:, None], x - mean[:, None], 0.0)
    sum_of_squares = (centred * centred).sum(axis=1)
    sd = np.sqrt(sum_of_squares / n)

    diffs = x[:, 1:] - x[:, :-1]  # NaN wherever either side is padding
    diff_valid = ~np.isnan(diffs)
    d0 = np.where(diff_valid, diffs, 0.0)
    n_diffs = counts - 1
    abs_diffs = np.abs(diffs)
    squared_diffs = d0 * d0
    d2 = squared_diffs.sum(axis=1) / n_diffs  # mean squared successive difference
    # (d^2)^2, not d**4: numpy's general power is ~50x slower than a multiply
    d4 = (squared_diffs * squared_diffs).sum(axis=1) / n_diffs
    skewness, kurtosis = _trimmed_moments(sorted_x, counts)

    median = _row_median(sorted_x, counts)
    sorted_abs_diffs = np.sort(abs_diffs, axis=1)
    median_abs_diff = _row_median(sorted_abs_diffs, n_diffs)

    with np.errstate(invalid="ignore"):
        deviation = np.abs(x - median[:, None])
        far = deviation > 0.1 * median[:, None]  # NaN compares False
        big = abs_diffs > 0.1 * median[:, None]
    turning = (d0[:, :-1] * d0[:, 1:]) < 0  # padding gives 0, never a turn
    turning_ratio = turning.sum(axis=1) / np.maximum(counts - 2, 1)

    trimmed_dispersion = _mean_of_smallest(np.sort(deviation, axis=1), counts - 2)
    trimmed_abs_diff = _mean_of_smallest(sorted_abs_diffs, n_diffs - 3)

    ar2, lag1, sd1_sd2, ar2_trimmed, residual_top3 = _periodicity(
        centred, valid, sd, sum_of_squares
    )
    positive = d2 > 0
    safe_d2 = np.maximum(d2, 1e-12)
    peakedness = np.where(positive, d4 / safe_d2**2, 0.0)
    second = np.where(valid[:, 2:], d0[:, 1:] - d0[:, :-1], 0.0)
    s2 = (second * second).sum(axis=1) / np.maximum(counts - 2, 1)
    second_to_first = np.where(positive, np.sqrt(s2 / safe_d2), 0.0)
    diff_lag1 = np.where(
        positive, (d0[:, 1:] * d0[:, :-1]).sum(axis=1) / np.maximum(d2 * n_diffs, 1e-12), 0.0
    )

    # The two largest |differences| are the last two of each row's sorted values (NaN sorts last).
    top2 = sorted_abs_diffs[rows, n_diffs - 1] ** 2 + sorted_abs_diffs[rows, n_diffs - 2] ** 2
    diff_top2 = np.where(positive, top2 / np.maximum(d2 * n_diffs, 1e-12), 0.0)

    features = np.empty((x.shape[0], N_FEATURES), dtype=np.float32)
    for column, values in enumerate(
        (
            sd / mean,
            np.sqrt(d2) / mean,
            median_abs_diff / median,
            turning_ratio,
            far.sum(axis=1) / n,
            big.sum(axis=1) / n_diffs,
            trimmed_dispersion / median,
            trimmed_abs_diff / median,
            ar2,
            lag1,
            sd1_sd2,
            peakedness,
            second_to_first,
            diff_lag1,
            ar2_trimmed,
            residual_top3,
            diff_top2,
            (median - sorted_x[:, 0]) / median,
            (sorted_x[rows, counts - 1] - median) / median,
            skewness,
            kurtosis,
        )
    ):
        features[:, column] = values
    return features


def _trimmed_moments(sorted_x: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(skewness, kurtosis) of each row's values without its shortest and its longest one (the
    first and the last of the sorted row); 0 and 0 where those remaining are all equal."""
    columns = np.arange(sorted_x.shape[1])
    kept = (columns >= 1) & (columns < (counts - 1)[:, None])
    m = counts - 2.0
    values = np.where(kept, sorted_x, 0.0)
    mean = values.sum(axis=1) / m
    rows = np.arange(sorted_x.shape[0])
    # compared, not measured: a mean off by an ulp must not turn a flat row into noise
    flat = sorted_x[:, 1] == sorted_x[rows, counts - 2]
    centred = np.where(kept & ~flat[:, None], sorted_x - mean[:, None], 0.0)
    squared = centred * centred
    m2 = squared.sum(axis=1) / m
    m3 = (squared * centred).sum(axis=1) / m
    m4 = (squared * squared).sum(axis=1) / m
    safe = np.where(flat, 1.0, m2)
    return (np.where(flat, 0.0, m3 / (safe * np.sqrt(safe))),
            np.where(flat, 0.0, m4 / (safe * safe)))


def _periodicity(centred, valid, sd, sum_of_squares) -> tuple[np.ndarray, ...]:
    """(AR(2) unexplained variance share, lag-1 autocorrelation, SD1/SD2, the unexplained share
    without the 3 largest squared residuals, the share of residual energy in those 3) of rows.

    A sampled sine obeys x[t] = 2cos(w) x[t-1] - x[t-2] exactly, so however large respiratory
    sinus arrhythmia is, a two-term autoregression explains it; AF's intervals are close to
    independent and leave nearly all their variance unexplained. Least squares per row through
    the 2x2 normal equations, vectorised; a flat row (no variance) counts as fully explained.
    `centred` is zero past each row's count, so padding adds nothing to the sums below.
    """
    fit = _ar2_fit(centred, valid)
    unexplained, flat, a, b, s00, x0, x1, x2, target = fit
    residual = np.where(target, x0 - a[:, None] * x1 - b[:, None] * x2, 0.0)
    squared = residual * residual
    residual_energy = squared.sum(1)
    # the 3 largest (padding zeros sort first); numpy's row sort beats its partition here
    top3 = np.sort(squared, axis=1)[:, -3:].sum(1)
    # A residual that is rounding noise (a sampled sine) has no shape to measure: both 0.
    explained = flat | (residual_energy <= 1e-9 * s00)
    trimmed = np.clip((residual_energy - top3) / np.where(s00 > 0, s00, 1.0), 0.0, 1.0)
    trimmed = np.where(explained, 0.0, trimmed)
    top3_share = np.where(explained, 0.0, top3 / np.where(explained, 1.0, residual_energy))
    lag1, sd1_sd2 = _lag1_and_poincare((centred[:, 1:] * centred[:, :-1]).sum(1), sd,
                                       sum_of_squares)
    return unexplained, lag1, sd1_sd2, trimmed, top3_share


def _ar2_fit(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Least squares x[t] = a x[t-1] + b x[t-2] per row of centred, zero-padded `x`:
    (unexplained share, flat, a, b, s00, x0, x1, x2, target) for the callers' residuals."""
    # Only terms whose target x[t] exists: a wider matrix (padding) must not add lagged terms.
    target = valid[:, 2:]
    x0 = x[:, 2:]
    x1, x2 = np.where(target, x[:, 1:-1], 0.0), np.where(target, x[:, :-2], 0.0)
    s11, s22, s12 = (x1 * x1).sum(1), (x2 * x2).sum(1), (x1 * x2).sum(1)
    s01, s02, s00 = (x0 * x1).sum(1), (x0 * x2).sum(1), (x0 * x0).sum(1)
    unexplained, flat, a, b = _ar2_unexplained(s11, s22, s12, s01, s02, s00)
    return unexplained, flat, a, b, s00, x0, x1, x2, target


def _ar2_unexplained(s11, s22, s12, s01, s02, s00) -> tuple[np.ndarray, ...]:
    """(unexplained share, flat, a, b) of the AR(2) normal equations' sums, per row."""
    det = s11 * s22 - s12 * s12
    flat = (det <= 1e-9 * np.maximum(s11 * s22, 1e-12)) | (s00 <= 0)
    safe = np.where(flat, 1.0, det)
    a = (s01 * s22 - s02 * s12) / safe
    b = (s02 * s11 - s01 * s12) / safe
    unexplained = np.clip((s00 - a * s01 - b * s02) / np.where(s00 > 0, s00, 1.0), 0.0, 1.0)
    return np.where(flat, 0.0, unexplained), flat, a, b


def _lag1_and_poincare(lag_sum, sd, sum_of_squares) -> tuple[np.ndarray, np.ndarray]:
    """(lag-1 autocorrelation, SD1/SD2) per row from the sum of centred x[t] x[t+1]."""
    total = sum_of_squares
    lag1 = np.where(total > 0, lag_sum / np.where(total > 0, total, 1), 0)
    # Poincare: SD1^2 = var(d)/2, SD2^2 = 2 var(x) - var(d)/2, with var(d) ~ 2 var(x)(1 - lag1).
    sd1_sq = np.maximum(sd**2 * (1 - lag1), 0.0)
    sd2_sq = np.maximum(sd**2 * (1 + lag1), 1e-12)
    sd1_sd2 = np.where(sd > 0, np.sqrt(sd1_sq / sd2_sq), 0.0)
    return lag1, sd1_sd2


def context_features(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """CONTEXT_FEATURE_NAMES (float32, (windows, N_CONTEXT_FEATURES)) of series laid one after
    another in `values` (`counts` each, >= 5), each feature as series_features defines it.

    Flat, not padded: a context holds ~50-150 values, and segment sums (np.add.reduceat) over
    only the values that exist cost about half of whole-matrix steps over rows padded to the
    longest (docs/decisions/2026-12-04-screen-context.md). A difference or product that would
    join two windows' series is masked to zero, as padding is in series_features.
    """
    windows = counts.size
    if windows == 0:
        return np.empty((0, N_CONTEXT_FEATURES), dtype=np.float32)
    x = np.asarray(values, dtype=np.float64)
    starts = np.cumsum(counts) - counts
    row = np.repeat(np.arange(windows), counts)
    position = np.arange(x.size) - starts[row]
    left = counts[row] - 1 - position  # values after this one in its window

    def per_window(a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(a, starts)

    n = counts.astype(np.float64)
    total = per_window(x)
    mean = total / n
    # constant rows compared, not measured (see series_features)
    longest, shortest = np.maximum.reduceat(x, starts), np.minimum.reduceat(x, starts)
    constant = longest == shortest
    c = np.where(constant[row], 0.0, x - mean[row])
    sum_of_squares = per_window(c * c)
    sd = np.sqrt(sum_of_squares / n)
    # Products of neighbours one and two apart, within a window; the sums the AR(2) normal
    # equations need are these less a few end terms (gathered per window), not passes of their own.
    lag1_sum = per_window(np.where(left >= 1, c * np.append(c[1:], 0.0), 0.0))
    lag2_sum = per_window(np.where(left >= 2, c * np.append(c[2:], (0.0, 0.0)), 0.0))
    ends = starts + counts
    first, second_, last, before_last = c[starts], c[starts + 1], c[ends - 1], c[ends - 2]
    # x[t] from x[t-1] and x[t-2], t from a window's third value on
    s00 = sum_of_squares - first * first - second_ * second_
    s11 = sum_of_squares - first * first - last * last
    s22 = sum_of_squares - last * last - before_last * before_last
    s01 = lag1_sum - second_ * first
    s12 = lag1_sum - last * before_last
    unexplained = _ar2_unexplained(s11, s22, s12, s01, lag2_sum, s00)[0]
    lag1, sd1_sd2 = _lag1_and_poincare(lag1_sum, sd, sum_of_squares)
    # d[k] = x[k+1] - x[k] within a window, 0 at its last value
    d = np.append(np.diff(x), 0.0)
    d[left == 0] = 0.0
    n_diffs = counts - 1
    squared_diffs = d * d
    d2_sum = per_window(squared_diffs)
    d2 = d2_sum / n_diffs
    d4 = per_window(squared_diffs * squared_diffs) / n_diffs
    pair = np.where(left >= 2, d * np.append(d[1:], 0.0), 0.0)  # d[k] d[k+1], same window
    turning_ratio = per_window((pair < 0).astype(np.float64)) / np.maximum(counts - 2, 1)
    diff_lag = per_window(pair)
    # second differences d[k+1] - d[k]: their squares summed, from the sums above
    first_d, last_d = d[starts], d[ends - 2]
    s2 = ((d2_sum - first_d * first_d) + (d2_sum - last_d * last_d) - 2 * diff_lag) \
        / np.maximum(counts - 2, 1)
    skewness, kurtosis = _trimmed_moments_flat(x, row, total, shortest, longest, counts,
                                               constant, per_window)
    positive = d2 > 0
    safe_d2 = np.maximum(d2, 1e-12)
    features = np.empty((windows, N_CONTEXT_FEATURES), dtype=np.float32)
    for column, feature in enumerate((
        sd / mean,
        np.sqrt(d2) / mean,
        turning_ratio,
        unexplained,
        lag1,
        sd1_sd2,
        np.where(positive, d4 / safe_d2**2, 0.0),
        np.where(positive, np.sqrt(s2 / safe_d2), 0.0),
        np.where(positive, diff_lag / np.maximum(d2 * n_diffs, 1e-12), 0.0),
        (mean - shortest) / mean,
        (longest - mean) / mean,
        skewness,
        kurtosis,
    )):  # fmt: skip
        features[:, column] = feature
    return features


def _trimmed_moments_flat(x, row, total, shortest, longest, counts, constant, per_window):
    """_trimmed_moments over the flat layout: sums over every value less the shortest's and the
    longest's terms, instead of a sort. Where what is left is flat to a billionth of its mean
    (equal values, up to the rounding of those sums): 0 and 0, as _trimmed_moments answers."""
    m = counts - 2.0
    trimmed_mean = (total - shortest - longest) / m
    y = x - trimmed_mean[row]
    y2 = y * y
    low, high = shortest - trimmed_mean, longest - trimmed_mean
    m2 = (per_window(y2) - low**2 - high**2) / m
    m3 = (per_window(y2 * y) - low**3 - high**3) / m
    m4 = (per_window(y2 * y2) - low**4 - high**4) / m
    flat = constant | (m2 <= (1e-9 * trimmed_mean) ** 2)
    safe = np.where(flat, 1.0, m2)
    return (np.where(flat, 0.0, m3 / (safe * np.sqrt(safe))),
            np.where(flat, 0.0, m4 / (safe * safe)))
