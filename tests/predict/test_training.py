"""The training pipeline is deterministic, and the simulators obey their models' rules.

The full-size rebuild (same sha256 as the shipped file, in a fresh process) is checked by
benchmarks/bench_model.py; here a small build runs twice to keep the suite fast.
"""

import numpy as np
import pytest

from services.predict.training import simulators as sim
from services.predict.training.train import build
from services.predict.training.windows import windows_from_rr


def test_build__same_seed_same_bytes__other_seed_other_bytes():
    first, metadata = build(seed=11, persons=range(8))
    again, _ = build(seed=11, persons=range(8))
    other, _ = build(seed=12, persons=range(8))
    assert first == again
    assert other != first
    assert metadata["training_seed"] == 11 and metadata["training_people_per_class"] == 8


def test_cohen_model__no_interval_shorter_than_refractory_period():
    rng = np.random.default_rng(1)
    params = sim.CohenParams(atrial_rate_hz=8, refractory_s=0.35, delta_v_mv=20, phase4_mv_per_s=30)
    rr = sim.cohen_af_rr(600, params, rng)
    assert rr.min() >= 350
    assert 0.1 < rr.std() / rr.mean() < 0.5  # irregular, as AF


def test_cohen_model__no_atrial_input__junctional_escape_rhythm():
    rng = np.random.default_rng(1)
    params = sim.CohenParams(
        atrial_rate_hz=1e-9, refractory_s=0.3, delta_v_mv=20, phase4_mv_per_s=25
    )
    rr = sim.cohen_af_rr(30, params, rng)
    # refractory 0.3 s, then 50 mV at 25 mV/s: one beat every 2.3 s, perfectly regular
    assert np.allclose(rr, 2300)


def test_corino_model__refractory_period_follows_previous_interval():
    rng = np.random.default_rng(2)
    params = sim.CorinoParams(8, 1.0, 0.25, 0.15, 0.2, 0.1)  # always the fast pathway
    rr = sim.corino_af_rr(600, params, rng) / 1000
    assert np.all(rr[1:] >= 0.25 + 0.15 * rr[:-1] - 1e-9)


def test_pvc__full_compensatory_pause():
    rng = np.random.default_rng(3)
    sinus = np.full(200, 1000.0)
    ectopic = sim.add_ectopy(sinus, sim.EctopyParams(per_minute=6, ventricular_fraction=1), rng)
    assert (ectopic < 1000).sum() > 5
    assert ectopic.sum() == pytest.approx(sinus.sum())  # the sinus node is never reset


def test_windows__beat_derived_heart_rate_and_rr_slices():
    rr = np.full(40, 1000.0)
    rr[15] = 500.0
    rr_windows, hr = windows_from_rr(rr)
    assert hr.shape[1] == 10 and len(rr_windows) == hr.shape[0]
    assert np.all(np.concatenate(rr_windows) > 0)
    assert 120 in hr  # the short interval shows as 60000/500 bpm in the next reading


def test_detection_artefacts__one_per_ten_seconds__beats_conserved_or_split():
    rng = np.random.default_rng(4)
    sinus = np.full(600, 1000.0)  # 10 minutes
    broken = sim.add_detection_artefacts(sinus, rng)
    changed = np.flatnonzero(~np.isclose(broken[: broken.size], 1000.0))
    assert 40 <= changed.size <= 130  # ~60 artefacts, each touching one or two intervals
    assert broken.sum() == pytest.approx(sinus.sum())  # no time is invented or lost


def test_regular_tachycardia__fast_and_regular():
    rr = sim.regular_tachycardia_rr(60, np.random.default_rng(5))
    assert 300 <= rr.mean() <= 462 and rr.std() < 10


def test_wide_sinus_population__spans_every_hrv_band():
    rng = np.random.default_rng(6)
    rmssd = [
        np.sqrt(np.mean(np.diff(sim.sinus_rr(120, sim.draw_wide_sinus_params(rng), rng)) ** 2))
        for _ in range(120)
    ]
    assert min(rmssd) < 20 and max(rmssd) > 150
    assert sum(r > 120 for r in rmssd) >= 8


def test_slow_af__rate_controlled_and_irregular():
    rng = np.random.default_rng(7)
    rr = sim.cohen_af_rr(300, sim.draw_slow_af_params(rng), rng)
    assert 45 <= 60_000 / rr.mean() <= 75 and rr.std() / rr.mean() > 0.1
