"""The screen on held-out simulated people, every figure by HRV band and by condition (issue 16).

People are drawn with TEST_SEED (training uses another seed): no simulated person is shared.
Inputs: RR intervals; 1 Hz beat-derived heart rate; the same with 20% of seconds missing; and an
averaging watch (declared hr_averaged), which the screen answers "insufficient signal".
Bands are the person's RMSSD before ectopy/artefacts (<50, 50-120, >120 ms). Confidence
intervals are 95% bootstraps over people. False alerts per person-hour come from an hour of each
of the alert cohort's people through the alert rule the notification peers use (services/alerts:
an episode starts when k of the last n readable windows are irregular; an alert per episode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.alerts import AlertSettings, Window, episode_starts
from services.predict.inputs import GAPPY_KIND
from services.predict.onnx_predictor import OnnxPredictor
from services.predict.training.datasets import (
    CONTEXT_WINDOWS,
    HRV_BANDS,
    Cohort,
    simulate_cohort,
)
from services.predict.training.evaluate import (
    ALERT_K,
    ALERT_N,
    BOOTSTRAP_ROUNDS,
    Scored,
    _person_weights,
    discrimination,
)

TEST_SEED = 7_000_001
TEST_PERSONS = {
    "sinus": 450,  # enough people in every HRV band (about 60 above RMSSD 120 ms)
    "frequent_ectopy": 120,
    "sinus_artefacts": 200,
    "regular_tachycardia": 80,
    "af_cohen": 200,
    "af_slow": 150,
    "af_fast": 120,
    "af_corino": 120,  # out of family: never trained on
    "af_cohen_low_irregularity": 100,  # stress set: more regular AF than trained on
    "paroxysmal_af": 100,  # alerts only: its windows have mixed labels
}
GOAL_AF = ("af_cohen", "af_slow", "af_fast")
INPUTS = {  # name: (send RR intervals, share of 1 Hz seconds missing, declared signal)
    "rr": (True, 0.0, "rr"),
    "hr": (False, 0.0, "hr_instantaneous"),
    "hr_missing20": (False, 0.2, "hr_instantaneous"),
}
ALERT_PERSONS = {"sinus": 150, "sinus_artefacts": 60, "frequent_ectopy": 40}
ALERT_SECONDS = 3600
AVERAGING_DEVICE_BEATS = 5


@dataclass
class Answers:
    probability: np.ndarray  # NaN where not judged
    flagged: np.ndarray
    judged: np.ndarray
    people: np.ndarray  # "<cohort>-<person>"
    rmssd: np.ndarray
    windows: list

    def scored(self, mask: np.ndarray | None = None) -> Scored:
        keep = self.judged if mask is None else self.judged & mask
        return Scored(
            self.probability[keep], self.flagged[keep], self.people[keep], int((~keep).sum())
        )


def answer(predictor: OnnxPredictor, cohort: Cohort, input_name: str,
           context_windows: int = CONTEXT_WINDOWS) -> Answers:
    with_rr, missing, signal = INPUTS[input_name]
    windows = cohort.windows(with_rr, missing_seconds=missing, signal=signal,
                             context_windows=context_windows)
    predictions = predictor.predict_batch(windows)
    judged = np.array([p.status != "insufficient_data" for p in predictions])
    return Answers(
        probability=np.array(
            [np.nan if p.probability is None else p.probability for p in predictions]
        ),
        flagged=np.array([p.status == "irregular" for p in predictions]),
        judged=judged,
        people=np.char.add(f"{cohort.name}-", cohort.person_ids.astype(str)),
        rmssd=cohort.person_rmssd,
        windows=windows,
    )


def joined(parts: list[Answers]) -> Answers:
    return Answers(
        *(np.concatenate([getattr(a, f) for a in parts]) for f in ("probability", "flagged",
          "judged", "people", "rmssd")),
        windows=[w for a in parts for w in a.windows],
    )  # fmt: skip


def share_with_ci(values: np.ndarray, people: np.ndarray, seed: int) -> tuple[float, float, float]:
    """Share of True, and its 95% bootstrap interval over people."""
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    unique = np.unique(people)
    rounds = []
    for _ in range(BOOTSTRAP_ROUNDS):
        w = _person_weights(people, rng.integers(0, unique.size, unique.size))
        rounds.append((values * w).sum() / max(w.sum(), 1))
    low, high = np.quantile(rounds, [0.025, 0.975])
    return float(values.mean()), float(low), float(high)


def _put(out: dict, name: str, triple: tuple[float, float, float]) -> None:
    out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = triple


def input_figures(predictor: OnnxPredictor, cohorts: dict[str, Cohort], name: str) -> dict:
    answers = {c: answer(predictor, cohort, name) for c, cohort in cohorts.items()}
    sinus, af = answers["sinus"], joined([answers[c] for c in GOAL_AF])
    out = discrimination(name, sinus.scored(), af.scored(), seed=1)
    for band, low, high in HRV_BANDS:
        in_band = (sinus.rmssd >= low) & (sinus.rmssd < high)
        band_figures = discrimination(f"{name}_{band}", sinus.scored(in_band), af.scored(), seed=2)
        # Sensitivity at the shipped threshold is the overall one: AF people have no band.
        out.update({k: v for k, v in band_figures.items() if "_sensitivity_ci" not in k
                    and not k.endswith(f"{band}_sensitivity")})  # fmt: skip
        out[f"{name}_{band}_sinus_people"] = int(np.unique(sinus.people[in_band]).size)
        artefacts = answers["sinus_artefacts"]
        a_band = artefacts.judged & (artefacts.rmssd >= low) & (artefacts.rmssd < high)
        _put(out, f"{name}_{band}_artefacts_specificity",
             share_with_ci(~artefacts.flagged[a_band], artefacts.people[a_band], seed=3))  # fmt: skip
    for condition, a in answers.items():
        if condition == "paroxysmal_af":
            continue
        judged = a.judged
        label = cohorts[condition].label
        metric = "sensitivity" if label else "specificity"
        values = a.flagged[judged] if label else ~a.flagged[judged]
        _put(out, f"{name}_{condition}_{metric}", share_with_ci(values, a.people[judged], seed=4))
        out[f"{name}_{condition}_insufficient_share"] = float((~judged).mean())
    out[f"{name}_threshold"] = predictor.thresholds["rr" if INPUTS[name][0] else "hr"]
    if not INPUTS[name][0]:
        out[f"{name}_gappy_threshold"] = predictor.thresholds[GAPPY_KIND]
    out.update(alerted_within_5_minutes(answers, name, cohorts))
    return out


def without_context_figures(predictor: OnnxPredictor, cohorts: dict[str, Cohort]) -> dict:
    """The same people's windows judged alone, as a person's first windows are (and every window
    after an aggregator restarts or takes a device over, for a minute): AF against sinus, overall
    and against each HRV band's sinus windows, and at the shipped threshold."""
    out = {}
    for name in ("rr", "hr"):
        answers = {c: answer(predictor, cohorts[c], name, context_windows=0)
                   for c in ("sinus", *GOAL_AF)}
        sinus, af = answers["sinus"], joined([answers[c] for c in GOAL_AF])
        prefix = f"{name}_without_context"
        figures = discrimination(prefix, sinus.scored(), af.scored(), seed=7)
        out.update({k: v for k, v in figures.items() if "_ci_" not in k})
        for band, low, high in HRV_BANDS:
            in_band = (sinus.rmssd >= low) & (sinus.rmssd < high)
            band_figures = discrimination(f"{prefix}_{band}", sinus.scored(in_band), af.scored(),
                                          seed=8)
            key = f"{prefix}_{band}_sensitivity_at_98spec"
            out[key] = band_figures[key]
    return out


def _alerts(a: Answers) -> dict[str, int]:
    """Alerts (episode starts) per person by the one alert rule, windows in time order."""
    windows: dict[str, list[Window]] = {}
    for window, person, flagged, judged in zip(a.windows, a.people, a.flagged, a.judged,
                                                strict=True):  # fmt: skip
        status = "insufficient_data" if not judged else ("irregular" if flagged else "regular")
        windows.setdefault(person, []).append(Window(window.start_ms, status))
    rule = AlertSettings(k=ALERT_K, n=ALERT_N)
    return {person: episode_starts(own, rule) for person, own in windows.items()}


def alerted_within_5_minutes(answers: dict[str, Answers], name: str, cohorts) -> dict:
    out = {}
    for condition in (*GOAL_AF, "af_corino", "paroxysmal_af", "frequent_ectopy", "sinus"):
        counts = _alerts(answers[condition])
        people = np.array(list(counts))
        alerted = np.array([counts[p] > 0 for p in people])
        _put(out, f"alert_{ALERT_K}of{ALERT_N}_{name}_{condition}_people_alerted_share",
             share_with_ci(alerted, people, seed=5))  # fmt: skip
    return out


def false_alert_figures(predictor: OnnxPredictor) -> dict:
    """False alerts per person-hour (k-of-n), by cohort and HRV band, for every input."""
    out = {}
    for condition, persons in ALERT_PERSONS.items():
        cohort = simulate_cohort(condition, range(persons), TEST_SEED + 1, seconds=ALERT_SECONDS)
        hours_per_person = ALERT_SECONDS / 3600
        for name in INPUTS:
            a = answer(predictor, cohort, name)
            counts = _alerts(a)
            people = np.array(list(counts))
            first = {p: i for i, p in reversed(list(enumerate(a.people)))}
            rmssd = np.array([a.rmssd[first[p]] for p in people])
            alerts = np.array([counts[p] for p in people], dtype=float)
            bands = [("all", 0, 1e9), *HRV_BANDS] if condition != "frequent_ectopy" else [
                ("all", 0, 1e9)]  # fmt: skip
            for band, low, high in bands:
                keep = (rmssd >= low) & (rmssd < high)
                point, lo, hi = share_with_ci(alerts[keep], people[keep], seed=6)
                prefix = f"false_alerts_per_person_hour_{name}_{condition}_{band}"
                _put(out, prefix, (point / hours_per_person, lo / hours_per_person,
                                   hi / hours_per_person))  # fmt: skip
                out[f"{prefix}_people"] = int(keep.sum())
    return out


def averaging_watch_figures(predictor: OnnxPredictor) -> dict:
    """A watch that declares hr_averaged (5-beat mean) without RR: always insufficient signal."""
    out = {}
    for condition in ("sinus", "af_cohen"):
        cohort = simulate_cohort(condition, range(60), TEST_SEED,
                                 hr_average_beats=AVERAGING_DEVICE_BEATS)  # fmt: skip
        predictions = predictor.predict_batch(cohort.windows(False, signal="hr_averaged"))
        insufficient = np.mean([p.status == "insufficient_data" for p in predictions])
        out[f"hr_averaged_{condition}_insufficient_share"] = float(insufficient)
    return out


def evaluate_population(predictor: OnnxPredictor) -> dict:
    cohorts = {c: simulate_cohort(c, range(n), TEST_SEED) for c, n in TEST_PERSONS.items()}
    figures: dict[str, float] = {}
    for name in INPUTS:
        figures.update(input_figures(predictor, cohorts, name))
    figures.update(without_context_figures(predictor, cohorts))
    figures.update(false_alert_figures(predictor))
    figures.update(averaging_watch_figures(predictor))
    return figures
