"""Per-window arithmetic the compiled feature passes share (features.py, context_features.py).

Compiled (compiled.py) and called by those passes. `numpy_sum` adds a row's values in the
order numpy's add.reduce does over a row of that width (eight running sums from eight values
on): the features then equal, to the bit, those the earlier whole-matrix numpy code computed,
so the shipped model rebuilds byte for byte from them (docs/decisions/2026-12-04-screen-
compiled-features.md); tests/predict/test_feature_math.py holds it to numpy.
"""

from __future__ import annotations

import math

from services.predict.compiled import compiled


@compiled
def numpy_sum(values, width):
    """Sum of values[:width] in numpy's order (pairwise_sum, for widths up to 128)."""
    if width < 8:
        total = 0.0
        for i in range(width):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
    r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
    i = 8
    while i < width - width % 8:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < width:
        total += values[i]
        i += 1
    return total


@compiled
def sort_into(out, values, n):
    """values[:n] sorted ascending into out[:n] (insertion: a window holds at most ~40)."""
    for k in range(n):
        value = values[k]
        j = k
        while j > 0 and out[j - 1] > value:
            out[j] = out[j - 1]
            j -= 1
        out[j] = value


@compiled
def median_of_sorted(sorted_values, n):
    return (sorted_values[max(n - 1, 0) // 2] + sorted_values[n // 2]) / 2


@compiled
def mean_of_smallest(sorted_values, keep):
    """Mean of the `keep` (at least 1) smallest of sorted values, summed smallest first."""
    keep = max(keep, 1)
    total = 0.0
    for k in range(keep):
        total += sorted_values[k]
    return total / keep


@compiled
def ar2_unexplained(s11, s22, s12, s01, s02, s00):
    """(share of variance x[t] = a x[t-1] + b x[t-2] leaves unexplained, degenerate fit, a, b)
    from the least-squares normal equations' sums; a degenerate fit (no variance) counts as
    fully explained (0)."""
    det = s11 * s22 - s12 * s12
    if det <= 1e-9 * max(s11 * s22, 1e-12) or s00 <= 0:
        return 0.0, True, 0.0, 0.0
    a = (s01 * s22 - s02 * s12) / det
    b = (s02 * s11 - s01 * s12) / det
    return min(max((s00 - a * s01 - b * s02) / s00, 0.0), 1.0), False, a, b


@compiled
def lag1_and_poincare(lag_sum, sd, sum_of_squares):
    """(lag-1 autocorrelation, SD1/SD2) from the sum of centred x[t] x[t+1]."""
    lag1 = lag_sum / sum_of_squares if sum_of_squares > 0 else 0.0
    # Poincare: SD1^2 = var(d)/2, SD2^2 = 2 var(x) - var(d)/2, with var(d) ~ 2 var(x)(1 - lag1)
    sd1_sq = max(sd * sd * (1 - lag1), 0.0)
    sd2_sq = max(sd * sd * (1 + lag1), 1e-12)
    return lag1, (math.sqrt(sd1_sq / sd2_sq) if sd > 0 else 0.0)
