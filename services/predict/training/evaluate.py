"""Evaluate the shipped model end to end (Window in, Prediction out) on data it never saw.

- Held-out simulated people (a different seed from training): sinus rhythm (with occasional
  ectopy) vs AF model A (Cohen), the out-of-family AF model B (Corino), frequent ectopy (stress).
- Real normal recordings from PyPI packages, and MIT-BIH record 208 (ectopy stress set).
- The k-of-n alert policy per simulated person.
Confidence intervals: 95%, bootstrap over people (windows of one person are not independent);
Wilson intervals for the real recordings (windows of one recording are not independent either,
so those are optimistic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from services.predict.alert_policy import KOfNAlertPolicy
from services.predict.base import Window
from services.predict.onnx_predictor import OnnxPredictor
from services.predict.training.datasets import Cohort, simulate_cohort
from services.predict.training.real_data import Recording, all_recordings

TEST_SEED = 7_000_001  # training uses TRAINING_SEED: no simulated person is shared
TEST_PERSONS = {
    "sinus": 200,
    "af_cohen": 200,
    "af_corino": 200,
    "frequent_ectopy": 100,
    "paroxysmal_af": 100,  # only for the alert policy figures: its windows have mixed labels
    "af_cohen_low_irregularity": 100,  # stress set, no goal
}
AVERAGING_DEVICE_BEATS = 5  # a device that reports the mean of its last 5 beats each second
BOOTSTRAP_ROUNDS = 300
TARGET_SPECIFICITY = 0.98


@dataclass
class Scored:
    scores: np.ndarray  # probability per judged window
    flagged: np.ndarray  # status == irregular
    people: np.ndarray  # person per judged window
    insufficient: int


def score(predictor: OnnxPredictor, windows: list[Window], people: np.ndarray) -> Scored:
    predictions = predictor.predict_batch(windows)
    judged = np.array([p.status != "insufficient_data" for p in predictions])
    return Scored(
        scores=np.array([p.probability for p in predictions if p.probability is not None]),
        flagged=np.array([p.status == "irregular" for p in predictions])[judged],
        people=people[judged],
        insufficient=int((~judged).sum()),
    )


def sensitivity_at_specificity(labels, scores, weights=None, specificity=TARGET_SPECIFICITY):
    fpr, tpr, _ = roc_curve(labels, scores, sample_weight=weights)
    return float(tpr[fpr <= 1 - specificity + 1e-12].max())


def _person_weights(people: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """Window weights = how often each window's person was drawn in a bootstrap round."""
    unique, index = np.unique(people, return_inverse=True)
    return np.bincount(draw, minlength=unique.size)[index]


def _bootstrap(rng, negative: Scored, positive: Scored, statistic) -> tuple[float, float]:
    neg_people, pos_people = np.unique(negative.people), np.unique(positive.people)
    values = []
    for _ in range(BOOTSTRAP_ROUNDS):
        w_neg = _person_weights(negative.people, rng.integers(0, neg_people.size, neg_people.size))
        w_pos = _person_weights(positive.people, rng.integers(0, pos_people.size, pos_people.size))
        values.append(statistic(w_neg, w_pos))
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


def discrimination(prefix: str, negative: Scored, positive: Scored, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(negative.scores.size), np.ones(positive.scores.size)]
    scores = np.r_[negative.scores, positive.scores]

    def auc(w_neg, w_pos):
        return roc_auc_score(labels, scores, sample_weight=np.r_[w_neg, w_pos])

    def sens98(w_neg, w_pos):
        return sensitivity_at_specificity(labels, scores, np.r_[w_neg, w_pos])

    def sensitivity(_w_neg, w_pos):
        return float((positive.flagged * w_pos).sum() / w_pos.sum())

    def specificity(w_neg, _w_pos):
        return float(((~negative.flagged) * w_neg).sum() / w_neg.sum())

    out = {}
    for name, statistic in (
        ("auc", auc),
        ("sensitivity_at_98spec", sens98),
        ("sensitivity", sensitivity),
        ("specificity", specificity),
    ):
        ones_neg, ones_pos = np.ones(negative.scores.size), np.ones(positive.scores.size)
        out[f"{prefix}_{name}"] = statistic(ones_neg, ones_pos)
        low, high = _bootstrap(rng, negative, positive, statistic)
        out[f"{prefix}_{name}_ci_low"], out[f"{prefix}_{name}_ci_high"] = low, high
    return out


def averaging_device_figures(predictor: OnnxPredictor) -> dict:
    """The same held-out people seen by a device whose 1 Hz heart rate averages 5 beats."""
    scored = {}
    for name in ("sinus", "af_cohen"):
        cohort = simulate_cohort(
            name, range(TEST_PERSONS[name]), TEST_SEED, hr_average_beats=AVERAGING_DEVICE_BEATS
        )
        scored[name] = score(predictor, cohort.windows(with_rr=False), cohort.person_ids)
    figures = discrimination("hr_averaged5", scored["sinus"], scored["af_cohen"], seed=3)
    return {k: v for k, v in figures.items() if "outoffamily" not in k}


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return math.nan, math.nan
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def _recording_windows(recording: Recording, with_rr: bool) -> list[Window]:
    return [
        Window(
            recording.name,
            i * 10_000,
            hr.tolist(),
            rr.tolist() if with_rr else None,
            "rr" if with_rr else "hr_instantaneous",
        )
        for i, (rr, hr) in enumerate(zip(recording.rr_windows, recording.hr_windows, strict=True))
    ]


def real_data_figures(predictor: OnnxPredictor) -> dict:
    """Per-recording specificity, and alerts of the default policy (each recording one person)."""
    out: dict[str, float] = {}
    k, n = ALERT_SETTINGS[0]
    for kind in ("rr", "hr"):
        normal_ok = normal_total = normal_alerts = 0
        for recording in all_recordings():
            windows = _recording_windows(recording, kind == "rr")
            predictions = predictor.predict_batch(windows)
            policy = KOfNAlertPolicy(k, n)
            alerts = sum(
                policy.observe(w.user_id, w.start_ms, p) is not None
                for w, p in zip(windows, predictions, strict=True)
            )
            judged = [p for p in predictions if p.status != "insufficient_data"]
            alarms = sum(p.status == "irregular" for p in judged)
            if recording.kind == "ectopy":
                out[f"ectopy_mitbih208_{kind}_false_alarm_rate"] = alarms / max(len(judged), 1)
                out[f"ectopy_mitbih208_{kind}_windows"] = len(judged)
                insufficient = len(predictions) - len(judged)
                out[f"ectopy_mitbih208_{kind}_insufficient_windows"] = insufficient
                out[f"ectopy_mitbih208_{kind}_alerts_{k}of{n}"] = alerts
                continue
            normal_alerts += alerts
            out[f"real_{recording.name}_{kind}_specificity"] = 1 - alarms / max(len(judged), 1)
            out[f"real_{recording.name}_{kind}_windows"] = len(judged)
            normal_ok += len(judged) - alarms
            normal_total += len(judged)
        out[f"real_normal_{kind}_specificity"] = normal_ok / max(normal_total, 1)
        low, high = wilson(normal_ok, normal_total)
        out[f"real_normal_{kind}_specificity_ci_low"] = low
        out[f"real_normal_{kind}_specificity_ci_high"] = high
        out[f"real_normal_{kind}_windows"] = normal_total
        out[f"real_normal_{kind}_alerts_{k}of{n}"] = normal_alerts
    return out


def alert_figures(predictor: OnnxPredictor, cohorts: dict[str, Cohort], k: int, n: int) -> dict:
    """Share of simulated people who get at least one alert in their 5 minutes (29 windows)."""
    out = {}
    for kind in ("rr", "hr"):
        for name, cohort in cohorts.items():
            predictions = predictor.predict_batch(cohort.windows(with_rr=kind == "rr"))
            policy = KOfNAlertPolicy(k, n)
            alerted, first_alert_window = set(), {}
            position: dict[int, int] = {}
            for person, window, prediction in zip(
                cohort.person_ids, cohort.windows(False), predictions, strict=True
            ):
                position[person] = position.get(person, 0) + 1
                if policy.observe(window.user_id, window.start_ms, prediction):
                    if person not in alerted:
                        first_alert_window[person] = position[person]
                    alerted.add(person)
            people = np.unique(cohort.person_ids).size
            out[f"alert_{k}of{n}_{kind}_{name}_people_alerted_share"] = len(alerted) / people
            if cohort.label == 1 and first_alert_window:
                out[f"alert_{k}of{n}_{kind}_{name}_median_windows_to_first_alert"] = float(
                    np.median(list(first_alert_window.values()))
                )
    return out


ALERT_SETTINGS = ((5, 6), (3, 6))  # the shipped default (as Apple's 5 of 6), and a looser one


def evaluate(predictor: OnnxPredictor) -> dict:
    cohorts = {
        name: simulate_cohort(name, range(count), TEST_SEED) for name, count in TEST_PERSONS.items()
    }
    figures: dict[str, float] = {}
    for kind in ("rr", "hr"):
        scored = {
            name: score(predictor, cohort.windows(with_rr=kind == "rr"), cohort.person_ids)
            for name, cohort in cohorts.items()
        }
        figures.update(discrimination(kind, scored["sinus"], scored["af_cohen"], seed=1))
        corino = discrimination(f"{kind}_outoffamily", scored["sinus"], scored["af_corino"], seed=2)
        figures.update(corino)
        ectopy = scored["frequent_ectopy"]
        figures[f"{kind}_sim_frequent_ectopy_false_alarm_rate"] = float(ectopy.flagged.mean())
        figures[f"{kind}_paroxysmal_af_windows_flagged_share"] = float(
            scored["paroxysmal_af"].flagged.mean()
        )
        figures[f"{kind}_low_irregularity_af_sensitivity"] = float(
            scored["af_cohen_low_irregularity"].flagged.mean()
        )
        for name, s in scored.items():
            figures[f"{kind}_test_{name}_windows"] = int(s.scores.size)
            figures[f"{kind}_test_{name}_insufficient_windows"] = s.insufficient
        figures[f"{kind}_threshold"] = predictor.thresholds[kind]
    figures.update(averaging_device_figures(predictor))
    figures.update(real_data_figures(predictor))
    for k, n in ALERT_SETTINGS:
        figures.update(alert_figures(predictor, cohorts, k, n))
    return figures
