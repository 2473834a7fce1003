"""The features of a window judged with its context (CONTEXT_FEATURE_NAMES), one compiled pass
per window.

A window's context (the same person's minute before) holds ~50-150 values, five to ten times
its own: as whole-array numpy steps the joining and these 13 features cost ~4 us a window, two
fifths of the batch budget (100k windows per CPU-second). Compiled by numba (cached on disk
after the first run), each window's series is gathered once into a small buffer and every sum
is taken in two passes over it, ~0.3 us a window (docs/decisions/2026-12-04-screen-compiled-
features.md). Each feature is defined as features.series_features defines it for a padded row;
tests/predict/test_batch_features.py holds both to the per-window reference definitions.
"""

from __future__ import annotations

import math

import numpy as np

from services.predict.compiled import compiled
from services.predict.context import ContextValues
from services.predict.feature_math import ar2_unexplained, lag1_and_poincare
from services.predict.features import N_CONTEXT_FEATURES


def context_features(
    context: ContextValues, keep: int, low: float, high: float,
    own: np.ndarray, own_counts: np.ndarray, judged: np.ndarray, as_interval: bool = False,
) -> np.ndarray:
    """CONTEXT_FEATURE_NAMES (float32, (judged windows, N_CONTEXT_FEATURES)) of each judged
    window's series: its last `keep` context values that are finite and within [low, high]
    (others left out, not refused: the context only helps), as intervals in ms (60000 / value
    with as_interval), then its own `own_counts` values of the NaN-padded `own` matrix.
    Callers guarantee a judged window has at least 5 own values, finite and positive."""
    picked = np.flatnonzero(judged)
    out = np.empty((picked.size, N_CONTEXT_FEATURES), dtype=np.float32)
    if picked.size:
        _features(
            context.flat, context.offsets, context.counts,
            np.ascontiguousarray(own, dtype=np.float64), np.asarray(own_counts, dtype=np.int64),
            picked, keep, float(low), float(high), as_interval, out,
        )  # fmt: skip
    return out


@compiled
def _features(flat, offsets, counts, own, own_counts, picked, keep, low, high, as_interval, out):
    series = np.empty(keep + own.shape[1])
    for j in range(picked.size):
        n = _gather(series, flat, offsets, counts, own, own_counts, picked[j], keep, low, high,
                    as_interval)
        _window_features(series, n, out[j])


@compiled
def _gather(series, flat, offsets, counts, own, own_counts, w, keep, low, high, as_interval):
    """Window w's series into `series` (context kept as context_features says, then its own
    values); returns its length."""
    n = 0
    present = counts[w]
    if present > 0:
        start = offsets[w]
        for k in range(start + max(present - keep, 0), start + present):
            value = flat[k]
            if low <= value <= high:  # NaN compares False: left out
                series[n] = 60_000.0 / value if as_interval else value
                n += 1
    for k in range(min(own_counts[w], own.shape[1])):
        series[n] = own[w, k]
        n += 1
    return n


@compiled
def _window_features(x, n, row):
    total, shortest, longest = 0.0, np.inf, -np.inf
    for k in range(n):
        total += x[k]
        shortest = min(shortest, x[k])
        longest = max(longest, x[k])
    mean = total / n
    # a constant series is compared, not measured (see series_features): its deviations are 0
    constant = longest == shortest
    trimmed_mean = (total - shortest - longest) / (n - 2.0)  # without the shortest and longest
    squares = lag1_sum = lag2_sum = 0.0  # of deviations from the mean
    d2_sum = d4_sum = diff_lag = turns = 0.0  # of successive differences d[k] = x[k+1] - x[k]
    y2 = y3 = y4 = 0.0  # powers of deviations from the trimmed mean
    c_before = c_last = d_last = 0.0
    for k in range(n):
        c = 0.0 if constant else x[k] - mean
        squares += c * c
        if k >= 1:
            lag1_sum += c_last * c
            d = x[k] - x[k - 1]
            d2_sum += d * d
            d4_sum += (d * d) * (d * d)  # the products numpy's version forms
            if k >= 2:
                lag2_sum += c_before * c
                pair = d_last * d
                diff_lag += pair
                if pair < 0:
                    turns += 1.0
            d_last = d
        c_before, c_last = c_last, c
        y = x[k] - trimmed_mean
        y2 += y * y
        y3 += (y * y) * y
        y4 += (y * y) * (y * y)
    c0 = 0.0 if constant else x[0] - mean
    c1 = 0.0 if constant else x[1] - mean
    c_end = 0.0 if constant else x[n - 1] - mean
    c_end1 = 0.0 if constant else x[n - 2] - mean
    # x[t] from x[t-1] and x[t-2], t from the third value on: the normal equations' sums are the
    # sums above less their end terms
    unexplained = ar2_unexplained(
        squares - c0 * c0 - c_end * c_end,  # s11
        squares - c_end * c_end - c_end1 * c_end1,  # s22
        lag1_sum - c_end * c_end1,  # s12
        lag1_sum - c1 * c0,  # s01
        lag2_sum,  # s02
        squares - c0 * c0 - c1 * c1,  # s00
    )[0]
    sd = math.sqrt(squares / n)
    lag1, sd1_sd2 = lag1_and_poincare(lag1_sum, sd, squares)
    n_diffs = n - 1
    d2 = d2_sum / n_diffs
    first_d, last_d = x[1] - x[0], x[n - 1] - x[n - 2]
    # second differences d[k+1] - d[k], their squares summed from the sums above
    s2 = ((d2_sum - first_d * first_d) + (d2_sum - last_d * last_d) - 2 * diff_lag) / max(n - 2, 1)
    positive = d2 > 0
    safe_d2 = max(d2, 1e-12)
    low, high = shortest - trimmed_mean, longest - trimmed_mean
    m2 = (y2 - low * low - high * high) / (n - 2.0)
    m3 = (y3 - low**3 - high**3) / (n - 2.0)
    m4 = (y4 - low**4 - high**4) / (n - 2.0)
    # flat to a billionth of its mean (equal values, up to these sums' rounding): 0 and 0
    trimmed_flat = constant or m2 <= (1e-9 * trimmed_mean) ** 2
    row[0] = sd / mean
    row[1] = math.sqrt(d2) / mean
    row[2] = turns / max(n - 2, 1)
    row[3] = unexplained
    row[4] = lag1
    row[5] = sd1_sd2
    row[6] = (d4_sum / n_diffs) / (safe_d2 * safe_d2) if positive else 0.0
    row[7] = math.sqrt(s2 / safe_d2) if positive else 0.0
    row[8] = diff_lag / max(d2 * n_diffs, 1e-12) if positive else 0.0
    row[9] = (mean - shortest) / mean
    row[10] = (longest - mean) / mean
    row[11] = 0.0 if trimmed_flat else m3 / (m2 * math.sqrt(m2))
    row[12] = 0.0 if trimmed_flat else m4 / (m2 * m2)
