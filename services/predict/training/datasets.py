"""Simulated cohorts of people, cut into windows: the training data and the held-out test sets.

Each simulated person is one parameter draw (a person, not a window), so splits by person keep
every window of a person on one side. Seeds are explicit: the same seed gives the same cohort
bit for bit, which makes the model rebuild deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.predict.base import Window
from services.predict.training import simulators as sim
from services.predict.training.windows import windows_from_rr

PERSON_SECONDS = 300  # 5 minutes per simulated person: 29 windows after the lead-in

# Cohort name -> label (1 = irregular rhythm to be screened for, 0 = not).
COHORT_LABELS = {
    "sinus": 0,  # sinus rhythm, 60% without ectopy, 40% with 0.5-4 ectopic beats per minute
    "frequent_ectopy": 0,  # stress set, no goal: 6-20 ectopic beats per minute
    "af_cohen": 1,  # AF model A (training)
    "af_corino": 1,  # AF model B (out-of-family test only)
    "paroxysmal_af": 1,  # sinus with one 30-60 s episode of AF model A (alert policy test only)
    "af_cohen_low_irregularity": 1,  # stress set, no goal: model A with 7-13 summed impulses
}
PAROXYSM_SECONDS = (30, 60)
_COHORT_IDS = {name: i for i, name in enumerate(COHORT_LABELS)}


@dataclass
class Cohort:
    name: str
    label: int
    person_ids: np.ndarray  # one per window
    rr_windows: list[np.ndarray]
    hr_windows: np.ndarray  # (windows, 10)

    def windows(self, with_rr: bool) -> list[Window]:
        return [
            Window(
                user_id=f"{self.name}-{pid}",
                start_ms=i * 10_000,
                heart_rates=hr.tolist(),
                rr_ms=rr.tolist() if with_rr else None,
                signal="rr" if with_rr else "hr_instantaneous",
            )
            for i, (pid, rr, hr) in enumerate(
                zip(self.person_ids, self.rr_windows, self.hr_windows, strict=True)
            )
        ]


def simulate_person_rr(cohort: str, rng: np.random.Generator) -> np.ndarray:
    duration = PERSON_SECONDS + 20
    if cohort == "af_cohen":
        return sim.cohen_af_rr(duration, sim.draw_cohen_params(rng), rng)
    if cohort == "af_cohen_low_irregularity":
        return sim.cohen_af_rr(duration, sim.draw_cohen_params(rng, delta_v_mv=(4, 8)), rng)
    if cohort == "af_corino":
        return sim.corino_af_rr(duration, sim.draw_corino_params(rng), rng)
    rr = sim.sinus_rr(duration, sim.draw_sinus_params(rng), rng)
    if cohort == "paroxysmal_af":
        return _with_af_episode(rr, rng)
    if cohort == "frequent_ectopy":
        burden = sim.EctopyParams(float(rng.uniform(6, 20)), float(rng.uniform(0, 1)))
    elif rng.random() < 0.4:
        burden = sim.EctopyParams(float(rng.uniform(0.5, 4)), float(rng.uniform(0, 1)))
    else:
        burden = sim.EctopyParams(0.0, 0.0)
    return sim.add_ectopy(rr, burden, rng)


def _with_af_episode(sinus_rr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    episode = rng.uniform(*PAROXYSM_SECONDS)
    start = rng.uniform(20, PERSON_SECONDS - episode)
    ends = np.cumsum(sinus_rr) / 1000
    before, after = np.searchsorted(ends, [start, start + episode])
    af = sim.cohen_af_rr(episode, sim.draw_cohen_params(rng), rng)
    return np.concatenate([sinus_rr[:before], af, sinus_rr[after:]])


def simulate_cohort(cohort: str, persons: range, seed: int, hr_average_beats: int = 1) -> Cohort:
    """The cohort's people; hr_average_beats > 1 gives the same people seen by an averaging device."""
    person_ids, rr_windows, hr_windows = [], [], []
    for person in persons:
        rng = np.random.default_rng([seed, _COHORT_IDS[cohort], person])
        rr, hr = windows_from_rr(simulate_person_rr(cohort, rng), hr_average_beats=hr_average_beats)
        rr_windows.extend(rr)
        hr_windows.append(hr)
        person_ids.extend([person] * len(rr))
    return Cohort(
        name=cohort,
        label=COHORT_LABELS[cohort],
        person_ids=np.asarray(person_ids),
        rr_windows=rr_windows,
        hr_windows=np.concatenate(hr_windows),
    )
