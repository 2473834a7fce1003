"""Features on inputs whose answers are known by hand."""

import numpy as np
import pytest

from services.predict.features import FEATURE_NAMES, series_features


def _features(*rows):
    width = max(len(r) for r in rows)
    matrix = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        matrix[i, : len(row)] = row
    counts = np.array([len(r) for r in rows])
    return [dict(zip(FEATURE_NAMES, f, strict=True)) for f in series_features(matrix, counts)]


def test_features__constant_series__no_irregularity():
    (f,) = _features([800.0] * 10)
    assert all(v == 0 for v in f.values())


def test_features__against_numpy_reference():
    x = np.array([800, 900, 700, 1000, 750, 950, 820, 880], dtype=float)
    (f,) = _features(x)
    d = np.diff(x)
    assert f["cv"] == pytest.approx(x.std() / x.mean(), rel=1e-6)
    assert f["nrmssd"] == pytest.approx(np.sqrt(np.mean(d**2)) / x.mean(), rel=1e-6)
    assert f["median_abs_diff"] == pytest.approx(np.median(np.abs(d)) / np.median(x), rel=1e-6)
    assert f["turning_point_ratio"] == pytest.approx(6 / 6)  # every interior point turns
    far = np.abs(x - np.median(x)) > 0.1 * np.median(x)
    assert f["share_far_from_median"] == pytest.approx(far.mean())
    assert f["share_big_diff"] == pytest.approx((np.abs(d) > 0.1 * np.median(x)).mean())
    kept = np.sort(np.abs(x - np.median(x)))[:-2]
    assert f["trimmed_dispersion"] == pytest.approx(kept.mean() / np.median(x), rel=1e-6)
    kept_diffs = np.sort(np.abs(d))[:-3]
    assert f["trimmed_abs_diff"] == pytest.approx(kept_diffs.mean() / np.median(x), rel=1e-6)


def test_features__one_premature_beat__trimmed_features_ignore_it():
    sinus = [1000.0] * 10
    with_pvc = [1000.0] * 4 + [600.0, 1400.0] + [1000.0] * 4  # full compensatory pause
    (clean, pvc) = _features(sinus, with_pvc)
    assert pvc["cv"] > 0.1 and pvc["nrmssd"] > 0.2  # plain dispersion sees the ectopic beat
    assert pvc["trimmed_dispersion"] == clean["trimmed_dispersion"] == 0
    assert pvc["trimmed_abs_diff"] == clean["trimmed_abs_diff"] == 0


def test_features__padding_does_not_leak_between_rows():
    short = [900.0, 1000.0, 950.0, 1050.0, 980.0, 1020.0, 940.0]
    alone = _features(short)[0]
    padded = _features(short, [700.0] * 12)[0]
    assert alone == pytest.approx(padded)


def test_features__scale_free():
    x = [800.0, 900.0, 700.0, 1000.0, 750.0, 950.0, 820.0, 880.0]
    slow, fast = _features(x, [v / 2 for v in x])
    assert slow == pytest.approx(fast, rel=1e-5)


def test_periodicity__strong_sinus_arrhythmia_explained__af_not():
    beats = np.arange(12)
    rsa = 1000 + 250 * np.sin(2 * np.pi * beats / 3.5)  # RMSSD far above 120 ms, but periodic
    af = np.random.default_rng(0).gamma(6, 150, 12)
    features = series_features(np.array([rsa, af]), np.array([12, 12]))
    unexplained = features[:, FEATURE_NAMES.index("ar2_unexplained")]
    assert unexplained[0] < 0.2 and unexplained[1] > 0.6


def test_one_bad_beat_in_sinus_arrhythmia__trimmed_autoregression_ignores_it__af_not():
    rsa = 1000 + 250 * np.sin(2 * np.pi * np.arange(12) / 4)  # RMSSD ~350 ms, periodic
    mislocated = rsa.copy()
    mislocated[5:7] += [120, -120]  # one beat detected 120 ms late: one interval +, the next -
    af = np.random.default_rng(0).gamma(6, 150, 12)
    clean, bad_beat, irregular = _features(rsa, mislocated, af)
    # the bad beat spoils the plain autoregression, but its harm sits in a few residual terms
    assert bad_beat["ar2_unexplained"] > clean["ar2_unexplained"] + 0.1
    assert bad_beat["ar2_trimmed_unexplained"] < 0.05
    assert irregular["ar2_trimmed_unexplained"] > 0.15
    assert bad_beat["ar2_residual_top3_share"] > 0.8
    assert bad_beat["diff_top2_share"] > clean["diff_top2_share"] + 0.15


def test_sampled_sine__residual_is_rounding_noise__no_residual_shape():
    rsa = 1000 + 250 * np.sin(2 * np.pi * np.arange(12) / 4)
    (alone,) = _features(rsa)
    padded, _ = _features(rsa, [800.0] * 30)  # a wider batch sums in another order
    for f in (alone, padded):
        assert f["ar2_unexplained"] == pytest.approx(0, abs=1e-6)
        assert f["ar2_residual_top3_share"] == 0 and f["ar2_trimmed_unexplained"] == 0


def test_distribution_shape__sine_symmetric_and_light_tailed__refractory_floor_skewed():
    """Large sinus arrhythmia piles its intervals at both ends of its range (no skew, kurtosis
    near 1.5); intervals that start at a refractory floor and trail off long (AF's AV node) are
    skewed to long intervals and heavier-tailed; one premature beat, dropped as the shortest
    interval, leaves the trimmed moments of the sine as they were."""
    sine = 1000 + 250 * np.sin(2 * np.pi * (np.arange(16) + 0.5) / 8)
    floor_and_tail = 600 + np.random.default_rng(3).exponential(250, 16)
    premature = sine.copy()
    premature[6] = 550.0
    periodic, refractory, one_early = _features(sine, floor_and_tail, premature)
    assert abs(periodic["trimmed_skewness"]) < 0.2 and periodic["trimmed_kurtosis"] < 2.0
    assert refractory["trimmed_skewness"] > 0.5 and refractory["trimmed_kurtosis"] > 2.5
    assert one_early["shortest_below_median"] > periodic["shortest_below_median"] + 0.2
    assert one_early["trimmed_kurtosis"] < 2.0
