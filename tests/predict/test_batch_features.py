"""The batch features are each window's own, and so are its answers.

The batch path computes the features of many windows at once over NaN-padded matrices, with
shared sums and sorts; reference_features computes one window's from the definitions. On a
population of every rhythm the simulators know, every signal kind, beat-detection artefacts,
missing seconds, constant rates and windows too short to judge, both give the same features
(to float32 precision), the same judged input, and the model the same answers.
"""

import numpy as np
import pytest
from reference_features import reference_features

from services.predict.artefacts import RR_MAX_MS, RR_MIN_MS
from services.predict.base import Window
from services.predict.features import CONTEXT_FEATURE_NAMES, FEATURE_NAMES, MODEL_FEATURE_NAMES
from services.predict.inputs import (
    HR_MAX_BPM,
    HR_MIN_BPM,
    MAX_CONTEXT_HR,
    MAX_CONTEXT_RR,
    check_windows,
    features_of,
)
from services.predict.training.datasets import simulate_cohort
from services.predict.window_values import materialise_all

COHORTS = (
    "sinus",
    "frequent_ectopy",
    "sinus_artefacts",
    "regular_tachycardia",
    "af_slow",
    "af_fast",
    "af_corino",
    "paroxysmal_af",
)
CONSTANT_BPM = (59, 72, 73, 97, 113)
DOUBLED_DETECTION = [1000, 950, 480, 520, 1010, 990, 1000, 970, 1020, 1000]  # under 250: merged
# A sinus arrhythmia a two-term autoregression explains to rounding noise, and the same with one
# beat detected 120 ms late: the residual-shape features' two paths.
SINE = [1000 + 250 * np.sin(np.pi * beat / 2) for beat in range(12)]
MISLOCATED = [*SINE[:5], SINE[5] + 120, SINE[6] - 120, *SINE[7:]]


def _edge_windows() -> list[Window]:
    """Constant rates at every judged length, and windows one value short of being judged."""
    out = []
    for bpm in CONSTANT_BPM:
        for count in range(5, 13):
            out.append(Window("flat", 0, [bpm] * count, signal="hr_instantaneous"))
        rr = [60_000 / bpm] * round(bpm / 6)
        out.append(Window("flat-rr", 0, [bpm] * 10, rr, signal="rr"))
    out += [
        Window("short-rr", 0, [60] * 10, [1000.0] * 6, signal="rr"),  # 6 intervals: HR instead
        Window("doubled", 0, [60] * 10, DOUBLED_DETECTION, signal="rr"),
        Window("sine", 0, [60] * 10, SINE, signal="rr"),
        Window("mislocated", 0, [60] * 10, MISLOCATED, signal="rr"),
        Window("gap", 0, [60] * 10, [900, 1100, 2600, 950, 1050, 980, 1000, 1020], signal="rr"),
        Window("nan", 0, [60, 61, float("nan"), 60, 62, 60, 59, 60, 61, 60], signal="rr"),
    ]
    return out


@pytest.fixture(scope="module")
def population() -> list[Window]:
    windows = _edge_windows()
    for name in COHORTS:
        cohort = simulate_cohort(name, range(2), seed=16)
        windows += cohort.windows(with_rr=True)
        windows += cohort.windows(with_rr=False, missing_seconds=0.2)
        windows += cohort.windows(with_rr=True, signal="hr_averaged")
        windows += cohort.windows(with_rr=False, signal="hr_averaged")  # refused: averaged
    # Shuffled, so every padded matrix mixes window lengths and kinds.
    return [windows[i] for i in np.random.default_rng(16).permutation(len(windows))]


def _context(values, keep: int, low: float, high: float) -> list[float]:
    """A context as the screen reads it: the last `keep` values, those within [low, high]."""
    return [v for v in list(values or ())[-keep:] if low <= v <= high]


def _alone(window: Window) -> tuple[str | None, dict[str, float] | None]:
    """(judged input, reference features: MODEL_FEATURE_NAMES) of the window checked alone."""
    checked = check_windows(*materialise_all([window]))
    if checked.use_rr[0]:
        own = list(checked.rr_judged[0, : checked.rr_judged_counts[0]])
        context = _context(window.context_rr_ms, MAX_CONTEXT_RR, RR_MIN_MS, RR_MAX_MS)
    elif checked.use_hr[0]:
        own = list(60_000 / checked.hr[0, : checked.hr_counts[0]])
        rates = _context(window.context_heart_rates, MAX_CONTEXT_HR, HR_MIN_BPM, HR_MAX_BPM)
        context = [60_000 / v for v in rates]
    else:
        return None, None
    features = reference_features(own)
    joined = np.asarray(context + own)
    with_context = reference_features(joined)
    with_context["shortest_below_mean"] = (joined.mean() - joined.min()) / joined.mean()
    with_context["longest_above_mean"] = (joined.max() - joined.mean()) / joined.mean()
    features.update({f"with_context_{name}": with_context[name] for name in CONTEXT_FEATURE_NAMES})
    return ("rr" if checked.use_rr[0] else "hr"), features


def _batch_features(population) -> tuple[list[str | None], list[np.ndarray | None]]:
    checked = check_windows(*materialise_all(population))
    rr_rows, hr_rows = (iter(rows) for rows in features_of(checked))
    kinds, rows = [], []
    for use_rr, use_hr in zip(checked.use_rr, checked.use_hr, strict=True):
        kinds.append("rr" if use_rr else "hr" if use_hr else None)
        rows.append(next(rr_rows) if use_rr else next(hr_rows) if use_hr else None)
    return kinds, rows


def test_batch_features__equal_each_window_checked_alone(population):
    kinds, rows = _batch_features(population)
    judged = {"rr": 0, "hr": 0, None: 0}
    for window, kind, row in zip(population, kinds, rows, strict=True):
        alone_kind, reference = _alone(window)
        assert kind == alone_kind, window
        judged[kind] += 1
        if kind is None:
            continue
        expected = np.array([reference[name] for name in MODEL_FEATURE_NAMES], dtype=np.float32)
        np.testing.assert_allclose(row, expected, rtol=2e-5, atol=1e-6, err_msg=str(window))
    # the population reaches every path: RR, heart rate, and refused
    assert min(judged.values()) > 100, judged


def test_constant_rate__no_irregularity_whatever_the_batch(population):
    _, rows = _batch_features(population)
    for window, row in zip(population, rows, strict=True):
        if window.user_id.startswith("flat") and row is not None:
            assert not row[: len(FEATURE_NAMES)].any(), (window, row)


def test_batch_answers__the_models_answers_on_reference_features(predictor, population):
    predictions = predictor.predict_batch(population)
    judged = [(i, *_alone(w)) for i, w in enumerate(population)]
    for kind in ("rr", "hr"):
        rows = [(i, features) for i, k, features in judged if k == kind]
        matrix = np.array([[f[n] for n in MODEL_FEATURE_NAMES] for _, f in rows],
                          dtype=np.float32)
        empty = np.empty((0, len(MODEL_FEATURE_NAMES)), dtype=np.float32)
        rr_p, hr_p = predictor.probabilities_of_features(
            *((matrix, empty) if kind == "rr" else (empty, matrix))
        )
        expected = rr_p if kind == "rr" else hr_p
        for (i, _), probability in zip(rows, expected.tolist(), strict=True):
            answer = predictions[i]
            # a heart-rate window with seconds missing has its own threshold
            gappy = kind == "hr" and len(population[i].heart_rates) < 10
            threshold = predictor.thresholds["hr_gappy" if gappy else kind]
            assert answer.threshold == threshold
            assert answer.input_kind == kind
            assert answer.probability == pytest.approx(probability, abs=1e-6)
            assert answer.status == ("irregular" if probability >= threshold else "regular")
    refused = [i for i, k, _ in judged if k is None]
    assert all(predictions[i].status == "insufficient_data" for i in refused)
