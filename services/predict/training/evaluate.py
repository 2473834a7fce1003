"""Evaluate the shipped model end to end (Window in, Prediction out) on data it never saw.

The discrimination and bootstrap helpers, and the real recordings (PyPI packages: normal rhythm,
and MIT-BIH record 208 as an ectopy stress set). The stratified evaluation over the simulated
population (by HRV band and by condition) is in stratified.py and uses these.
Confidence intervals: 95%, bootstrap over people (windows of one person are not independent);
Wilson intervals for the real recordings (windows of one recording are not independent either,
so those are optimistic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from services.alerts import AlertSettings, episode_starts
from services.alerts import Window as AlertWindow
from services.predict.base import Window
from services.predict.onnx_predictor import OnnxPredictor
from services.predict.training.datasets import with_context
from services.predict.training.real_data import Recording, all_recordings

BOOTSTRAP_ROUNDS = 300
ALERT_K, ALERT_N = 5, 6  # the shipped default (as Apple's 5 of 6)
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


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if total == 0:
        return math.nan, math.nan
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def _recording_windows(recording: Recording, with_rr: bool) -> list[Window]:
    return with_context([
        Window(
            recording.name,
            i * 10_000,
            hr.tolist(),
            rr.tolist() if with_rr else None,
            "rr" if with_rr else "hr_instantaneous",
        )
        for i, (rr, hr) in enumerate(zip(recording.rr_windows, recording.hr_windows, strict=True))
    ])


def real_data_figures(predictor: OnnxPredictor) -> dict:
    """Per-recording specificity, and alerts of the default policy (each recording one person)."""
    out: dict[str, float] = {}
    k, n = ALERT_K, ALERT_N
    for kind in ("rr", "hr"):
        normal_ok = normal_total = normal_alerts = 0
        for recording in all_recordings():
            windows = _recording_windows(recording, kind == "rr")
            predictions = predictor.predict_batch(windows)
            alerts = episode_starts(
                [
                    AlertWindow(w.start_ms, p.status)
                    for w, p in zip(windows, predictions, strict=True)
                ],
                AlertSettings(k=k, n=n),
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


def evaluate(predictor: OnnxPredictor) -> dict:
    """Every figure: the stratified simulated population, then the real recordings."""
    from services.predict.training.stratified import evaluate_population

    return {**evaluate_population(predictor), **real_data_figures(predictor)}
