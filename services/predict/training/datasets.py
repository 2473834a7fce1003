"""Simulated cohorts of people, cut into windows: the training data and the held-out test sets.

Each simulated person is one parameter draw (a person, not a window), so splits by person keep
every window of a person on one side. Seeds are explicit: the same seed gives the same cohort
bit for bit, which makes the model rebuild deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from services.predict.base import Window
from services.predict.training import simulators as sim
from services.predict.training.windows import windows_from_rr

CONTEXT_WINDOWS = 5  # the peers send the person's five windows before (50 s): base.CONTEXT_SECONDS
PERSON_SECONDS = 300  # 5 minutes per simulated person: 29 windows after the lead-in

# Cohort name -> label (1 = irregular rhythm to be screened for, 0 = not).
COHORT_LABELS = {
    # sinus rhythm across every HRV (RMSSD ~10 to >150 ms), 60% without ectopy, 40% with 0.5-4
    # ectopic beats per minute
    "sinus": 0,
    "frequent_ectopy": 0,  # 6-20 ectopic beats per minute (about 8-25% of beats)
    "sinus_artefacts": 0,  # sinus (as above) with one beat-detection artefact per 10 s
    "regular_tachycardia": 0,  # SVT / flutter 2:1, 130-200 bpm, regular (test only)
    "af_slow": 1,  # rate-controlled AF, ~50-70 bpm (AF model A, longer AV refractoriness)
    "af_fast": 1,  # uncontrolled AF, ~100-150 bpm
    "af_cohen": 1,  # AF model A (training)
    "af_corino": 1,  # AF model B (out-of-family test only)
    "paroxysmal_af": 1,  # sinus with one 30-60 s episode of AF model A (alert policy test only)
    "af_cohen_low_irregularity": 1,  # stress set, no goal: model A with 7-13 summed impulses
}
PAROXYSM_SECONDS = (30, 60)
HRV_BANDS = (("rmssd_lt50", 0, 50), ("rmssd_50_120", 50, 120), ("rmssd_gt120", 120, 1e9))
_COHORT_IDS = {name: i for i, name in enumerate(COHORT_LABELS)}


@dataclass
class Cohort:
    name: str
    label: int
    person_ids: np.ndarray  # one per window
    rr_windows: list[np.ndarray]
    hr_windows: np.ndarray  # (windows, 10)
    person_rmssd: np.ndarray  # one per window: RMSSD (ms) of the person's rhythm before ectopy

    def windows(
        self, with_rr: bool, missing_seconds: float = 0.0, signal: str | None = None,
        context_windows: int = CONTEXT_WINDOWS,
    ) -> list[Window]:
        """The windows as a device sends them; missing_seconds drops that share of the 1 Hz
        readings at random (seeded by the window), as a lossy radio link does. Each window
        carries the values of the same person's `context_windows` windows before it (fewer at
        the start), as the peers send them (services/peers/recent_windows.py); 0 sends none."""
        hr_rows = self.hr_windows.tolist()
        if missing_seconds:
            keep = np.random.default_rng([len(hr_rows), 16]).random(self.hr_windows.shape)
            hr_rows = [
                [v for v, k in zip(row, kept, strict=True) if k >= missing_seconds]
                for row, kept in zip(hr_rows, keep, strict=True)
            ]
        windows = [
            Window(
                user_id=f"{self.name}-{pid}",
                start_ms=i * 10_000,
                heart_rates=hr,
                rr_ms=rr.tolist() if with_rr else None,
                signal=signal or ("rr" if with_rr else "hr_instantaneous"),
            )
            for i, (pid, rr, hr) in enumerate(
                zip(self.person_ids, self.rr_windows, hr_rows, strict=True)
            )
        ]
        return with_context(windows, context_windows)

    def band_mask(self, band: str) -> np.ndarray:
        """Windows of people whose (pre-ectopy) RMSSD falls in the HRV band."""
        _, low, high = next(b for b in HRV_BANDS if b[0] == band)
        return (self.person_rmssd >= low) & (self.person_rmssd < high)


def with_context(windows: list[Window], context_windows: int = CONTEXT_WINDOWS) -> list[Window]:
    """Consecutive windows (in time order; a person's windows together) with the values of the
    same user's `context_windows` windows before each as its context."""
    out = []
    for i, window in enumerate(windows):
        first = i
        while (first > 0 and i - first < context_windows
               and windows[first - 1].user_id == window.user_id):
            first -= 1
        before = windows[first:i]
        if not before:
            out.append(window)
            continue
        # one kind, as the peers send it: the intervals for a device that sends them
        if window.rr_ms is None:
            context = {"context_heart_rates": [v for w in before for v in w.heart_rates]}
        else:
            context = {"context_rr_ms": [v for w in before for v in w.rr_ms or ()]}
        out.append(replace(window, **context))
    return out


def _rmssd(rr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def simulate_person_rr(
    cohort: str, rng: np.random.Generator, seconds: int = PERSON_SECONDS
) -> tuple[np.ndarray, float]:
    """(the person's RR intervals, RMSSD of their underlying rhythm before ectopy/artefacts)."""
    rr = _simulate_rhythm(cohort, rng, seconds + 20)
    if isinstance(rr, tuple):
        return rr
    return rr, _rmssd(rr)


def _simulate_rhythm(cohort: str, rng: np.random.Generator, duration: float):
    if cohort == "af_cohen":
        return sim.cohen_af_rr(duration, sim.draw_cohen_params(rng), rng)
    if cohort == "af_slow":
        return sim.cohen_af_rr(duration, sim.draw_slow_af_params(rng), rng)
    if cohort == "af_fast":
        return sim.cohen_af_rr(duration, sim.draw_fast_af_params(rng), rng)
    if cohort == "regular_tachycardia":
        return sim.regular_tachycardia_rr(duration, rng)
    if cohort == "af_cohen_low_irregularity":
        return sim.cohen_af_rr(duration, sim.draw_cohen_params(rng, delta_v_mv=(4, 8)), rng)
    if cohort == "af_corino":
        return sim.corino_af_rr(duration, sim.draw_corino_params(rng), rng)
    rr = sim.sinus_rr(duration, sim.draw_wide_sinus_params(rng), rng)
    rmssd = _rmssd(rr)
    if cohort == "paroxysmal_af":
        return _with_af_episode(rr, rng), rmssd
    if cohort == "frequent_ectopy":
        burden = sim.EctopyParams(float(rng.uniform(6, 20)), float(rng.uniform(0, 1)))
    elif rng.random() < 0.4:
        burden = sim.EctopyParams(float(rng.uniform(0.5, 4)), float(rng.uniform(0, 1)))
    else:
        burden = sim.EctopyParams(0.0, 0.0)
    rr = sim.add_ectopy(rr, burden, rng)
    if cohort == "sinus_artefacts":
        rr = sim.add_detection_artefacts(rr, rng)
    return rr, rmssd


def _with_af_episode(sinus_rr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    episode = rng.uniform(*PAROXYSM_SECONDS)
    start = rng.uniform(20, PERSON_SECONDS - episode)
    ends = np.cumsum(sinus_rr) / 1000
    before, after = np.searchsorted(ends, [start, start + episode])
    af = sim.cohen_af_rr(episode, sim.draw_cohen_params(rng), rng)
    return np.concatenate([sinus_rr[:before], af, sinus_rr[after:]])


def simulate_cohort(
    cohort: str,
    persons: range,
    seed: int,
    hr_average_beats: int = 1,
    seconds: int = PERSON_SECONDS,
) -> Cohort:
    """The cohort's people; hr_average_beats > 1 gives the same people seen by an averaging device;
    `seconds` per person (5 minutes unless an hour is needed to count false alerts per hour)."""
    person_ids, rr_windows, hr_windows, rmssd = [], [], [], []
    for person in persons:
        rng = np.random.default_rng([seed, _COHORT_IDS[cohort], person])
        person_rr, person_rmssd = simulate_person_rr(cohort, rng, seconds)
        rr, hr = windows_from_rr(person_rr, hr_average_beats=hr_average_beats)
        rr_windows.extend(rr)
        hr_windows.append(hr)
        person_ids.extend([person] * len(rr))
        rmssd.extend([person_rmssd] * len(rr))
    return Cohort(
        name=cohort,
        label=COHORT_LABELS[cohort],
        person_ids=np.asarray(person_ids),
        rr_windows=rr_windows,
        hr_windows=np.concatenate(hr_windows),
        person_rmssd=np.asarray(rmssd),
    )
