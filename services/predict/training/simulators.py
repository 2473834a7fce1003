"""Beat-time simulators: sinus rhythm, ectopic beats, and two differently built AF models.

Every simulator returns RR intervals in milliseconds. Parameter ranges are fixed here, before any
training, from the cited papers (see docs/model-card.md for the full table); nothing below is
tuned on evaluation results.

- Sinus rhythm: the RR tachogram of McSharry, Clifford, Tarassenko & Smith, "A dynamical model for
  generating synthetic electrocardiogram signals", IEEE TBME 50(3):289-294, 2003: a spectrum of two
  Gaussians (Mayer waves at ~0.1 Hz, respiratory sinus arrhythmia at the breathing frequency),
  random phases, scaled to a target SD. Per-person SDNN and LF/HF from the normative short-term HRV
  review of Nunan, Sandercock & Brodie, PACE 33:1407-1417, 2010. Slow trends (posture, activity)
  are an Ornstein-Uhlenbeck drift of the mean RR plus occasional ramps.
- Ectopy: premature ventricular beats with a full compensatory pause (the sinus node is not reset,
  the two intervals sum to two sinus cycles) and premature atrial beats that reset the sinus node
  (a non-compensatory pause): the textbook rules, e.g. Goldberger, Clinical Electrocardiography.
- AF model A (training and in-family testing): Cohen, Berger & Dushane, "A quantitative model for
  the ventricular response during atrial fibrillation", IEEE TBME 30(12):769-781, 1983. Atrial
  impulses arrive as a Poisson process; the AV junction is one equivalent cell with a refractory
  period, a spontaneous phase-4 depolarisation, and a partial depolarisation per atrial impulse;
  it fires when it crosses threshold (summation of inputs, hence Erlang-like RR histograms, as
  Hayano et al. found in patients, 1984).
- AF model B (out-of-family testing only, never trained on): Corino, Sandberg, Mainardi & Sörnmo,
  "An atrioventricular node model for analysis of the ventricular response during atrial
  fibrillation", IEEE TBME 58(12):3386-3395, 2011: every non-blocked impulse conducts at once
  (no summation), through one of two pathways with different refractory periods that lengthen with
  the preceding RR interval, and conduction recovers gradually after the refractory period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- sinus rhythm (McSharry et al. 2003; Nunan et al. 2010) -----------------------------------


@dataclass(frozen=True)
class SinusParams:
    mean_rr_ms: float  # resting HR 50-100 bpm, plus some light activity up to 120
    sdnn_ms: float  # short-term SDNN, Nunan 2010: 50 +/- 16 ms (range used 20-110)
    lf_hf: float  # Nunan 2010: 2.8 +/- 2.6 (range used 0.5-6)
    lf_hz: float  # McSharry 2003: Mayer waves at 0.1 Hz, width 0.01 Hz
    resp_hz: float  # breathing 0.15-0.4 Hz (McSharry default 0.25 Hz)
    trend_sd_ms: float  # slow drift of the mean RR (posture, activity)
    trend_tau_s: float
    ramp_bpm: float  # one ramp of this size somewhere in the recording (0 for none)


def draw_sinus_params(rng: np.random.Generator) -> SinusParams:
    hr = rng.uniform(50, 120) if rng.random() < 0.15 else rng.uniform(50, 100)
    return SinusParams(
        mean_rr_ms=60_000 / hr,
        sdnn_ms=float(np.clip(rng.normal(50, 16), 20, 110)) * (60 / hr) ** 0.5,
        lf_hf=float(np.clip(rng.lognormal(np.log(2.0), 0.7), 0.5, 6.0)),
        lf_hz=float(rng.uniform(0.08, 0.12)),
        resp_hz=float(rng.uniform(0.15, 0.4)),
        trend_sd_ms=float(rng.uniform(10, 60)),
        trend_tau_s=float(rng.uniform(30, 120)),
        ramp_bpm=float(rng.choice([0.0, 0.0, rng.uniform(-20, 20)])),
    )


def sinus_rr(duration_s: float, p: SinusParams, rng: np.random.Generator) -> np.ndarray:
    fs = 4.0  # tachogram sampling (Hz), as in McSharry's RR generator
    n = int(2 ** np.ceil(np.log2(duration_s * fs + 64)))
    f = np.fft.rfftfreq(n, 1 / fs)
    c = 0.01  # Gaussian widths (Hz), McSharry 2003
    lf = p.lf_hf / (1 + p.lf_hf)
    hf = 1 / (1 + p.lf_hf)
    spectrum = lf * np.exp(-((f - p.lf_hz) ** 2) / (2 * c**2)) + hf * np.exp(
        -((f - p.resp_hz) ** 2) / (2 * c**2)
    )
    phases = rng.uniform(0, 2 * np.pi, f.size)
    series = np.fft.irfft(np.sqrt(spectrum) * np.exp(1j * phases), n)
    series = series / series.std() * p.sdnn_ms

    # Slow drift: Ornstein-Uhlenbeck on the mean RR, plus at most one linear HR ramp.
    dt = 1 / fs
    a = np.exp(-dt / p.trend_tau_s)
    noise = rng.normal(0, p.trend_sd_ms * np.sqrt(1 - a**2), n)
    drift = np.empty(n)
    drift[0] = rng.normal(0, p.trend_sd_ms)
    for i in range(1, n):
        drift[i] = a * drift[i - 1] + noise[i]
    hr = 60_000 / p.mean_rr_ms + np.zeros(n)
    if p.ramp_bpm:
        start = rng.uniform(0, n * 0.7)
        length = rng.uniform(30, 90) * fs
        hr += p.ramp_bpm * np.clip((np.arange(n) - start) / length, 0, 1)
    tachogram = 60_000 / hr + drift + series
    tachogram = np.clip(tachogram, 300, 2000)

    # Beats by integrating the tachogram: each interval is the tachogram at the beat's time.
    rr = []
    t_ms = 0.0
    while t_ms < duration_s * 1000:
        interval = float(tachogram[min(int(t_ms / 1000 * fs), n - 1)])
        rr.append(interval)
        t_ms += interval
    return np.asarray(rr)


# --- ectopic beats -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EctopyParams:
    per_minute: float
    ventricular_fraction: float  # share of ectopic beats that are PVCs (rest PACs)


def add_ectopy(rr: np.ndarray, p: EctopyParams, rng: np.random.Generator) -> np.ndarray:
    rr = rr.copy()
    if p.per_minute <= 0:
        return rr
    probability = p.per_minute / (60_000 / rr.mean())
    k = 1
    while k < rr.size - 1:
        if rng.random() < probability:
            if rng.random() < p.ventricular_fraction:
                # PVC: premature by coupling c, full compensatory pause (sum = two cycles).
                coupling = rng.uniform(0.5, 0.7)
                total = rr[k] + rr[k + 1]
                rr[k] = coupling * rr[k]
                rr[k + 1] = total - rr[k]
            else:
                # PAC: premature, resets the sinus node: a little longer than one cycle after it.
                coupling = rng.uniform(0.6, 0.85)
                rr[k] = coupling * rr[k]
                rr[k + 1] = rr[k + 1] * rng.uniform(1.0, 1.15)
            k += 3  # an ectopic beat is not followed straight away by another one here
        else:
            k += 1
    return rr


# --- AF model A: Cohen, Berger & Dushane 1983 -----------------------------------------------------


@dataclass(frozen=True)
class CohenParams:
    atrial_rate_hz: float  # lambda: fibrillatory rate 5-9 Hz (300-540 /min)
    refractory_s: float  # tau: AV-junction refractory period 0.25-0.45 s
    delta_v_mv: float  # depolarisation per atrial impulse (threshold - rest = 50 mV)
    phase4_mv_per_s: float  # spontaneous depolarisation: junctional escape every 1.2-2.0 s


V_REST_MV = -90.0  # Cohen 1983 resting and threshold potentials of the AV-junction cell
V_THRESHOLD_MV = -40.0


def draw_cohen_params(
    rng: np.random.Generator, delta_v_mv: tuple[float, float] = (8, 30)
) -> CohenParams:
    # 8-30 mV: 2-7 summed impulses (Hayano 1984 Erlang phases). The "low irregularity" stress set
    # asks for 4-8 mV (7-13 summed impulses): slower, more regular AF, outside the training range.
    return CohenParams(
        atrial_rate_hz=float(rng.uniform(5, 9)),
        refractory_s=float(rng.uniform(0.25, 0.45)),
        delta_v_mv=float(rng.uniform(*delta_v_mv)),
        phase4_mv_per_s=float((V_THRESHOLD_MV - V_REST_MV) / rng.uniform(1.2, 2.0)),
    )


def cohen_af_rr(duration_s: float, p: CohenParams, rng: np.random.Generator) -> np.ndarray:
    span = V_THRESHOLD_MV - V_REST_MV
    beats = [0.0]
    refractory_end = p.refractory_s
    potential = 0.0  # above rest, at time `since`
    since = refractory_end
    t = 0.0
    while t < duration_s:
        t += rng.exponential(1 / p.atrial_rate_hz)
        t_end = min(t, duration_s)
        # Spontaneous (escape) firings before this impulse arrives (within the simulated time).
        while (fire := since + (span - potential) / p.phase4_mv_per_s) <= t_end:
            beats.append(fire)
            refractory_end = fire + p.refractory_s
            potential, since = 0.0, refractory_end
        if t >= duration_s:
            break
        if t < refractory_end:
            continue  # blocked: the junction is refractory
        potential += p.phase4_mv_per_s * (t - since) + p.delta_v_mv
        since = t
        if potential >= span:
            beats.append(t)
            refractory_end = t + p.refractory_s
            potential, since = 0.0, refractory_end
    return np.diff(np.asarray(beats)) * 1000


# --- AF model B: Corino, Sandberg, Mainardi & Sörnmo 2011 ----------------------------------------


@dataclass(frozen=True)
class CorinoParams:
    atrial_rate_hz: float  # Poisson arrivals, 5-9 Hz
    fast_pathway_probability: float  # alpha, 0.6 in the paper's simulations
    refractory_intercept_s: float  # tau1 = intercept + slope * previous RR
    refractory_slope: float
    pathway_difference_s: float  # tau2 = tau1 + this
    recovery_s: float  # conduction probability rises linearly to 1 over this after refractoriness


def draw_corino_params(rng: np.random.Generator) -> CorinoParams:
    return CorinoParams(
        atrial_rate_hz=float(rng.uniform(5, 9)),
        fast_pathway_probability=float(rng.uniform(0.4, 0.8)),
        refractory_intercept_s=float(rng.uniform(0.2, 0.3)),
        refractory_slope=0.15,
        pathway_difference_s=float(rng.uniform(0.1, 0.3)),
        recovery_s=0.1,
    )


def corino_af_rr(duration_s: float, p: CorinoParams, rng: np.random.Generator) -> np.ndarray:
    beats = [0.0]
    previous_rr = 0.8
    refractory_end = p.refractory_intercept_s + p.refractory_slope * previous_rr
    t = 0.0
    while t < duration_s:
        t += rng.exponential(1 / p.atrial_rate_hz)
        if t >= duration_s:
            break
        if t < refractory_end:
            continue
        if rng.random() > min(1.0, (t - refractory_end) / p.recovery_s):
            continue  # partially recovered node blocks this impulse
        previous_rr = t - beats[-1]
        beats.append(t)
        tau = p.refractory_intercept_s + p.refractory_slope * previous_rr
        if rng.random() >= p.fast_pathway_probability:
            tau += p.pathway_difference_s
        refractory_end = t + tau
    return np.diff(np.asarray(beats)) * 1000


# --- the wider population of issue 16: every HRV, slow and fast AF, artefacts, tachycardia ---------


def draw_wide_sinus_params(rng: np.random.Generator) -> SinusParams:
    """Sinus rhythm across who wears these devices: RMSSD from about 10 to over 150 ms.

    Nunan 2010's normative SDNN (50 +/- 16 ms) covers ordinary adults; young and athletic people
    have far more vagal, respiratory variability (short-term RMSSD well over 100 ms is common in
    young adults, e.g. the age norms of Voss et al., PLoS One 10:e0118308, 2015), so 40% of the
    people here draw a large, HF-dominant (strong respiratory sinus arrhythmia) spectrum. Large
    RSA comes with slow breathing: the vagal heart-rate response to breathing falls off above
    ~0.2 Hz (transfer function of Saul et al., Am J Physiol 261:H1231, 1991), so these people
    breathe at 6-15 breaths/min (0.10-0.25 Hz).
    """
    base = draw_sinus_params(rng)
    if rng.random() < 0.4:
        hr = float(rng.uniform(45, 85))
        return SinusParams(
            mean_rr_ms=60_000 / hr,
            sdnn_ms=float(np.exp(rng.uniform(np.log(60), np.log(200)))),
            lf_hf=float(np.exp(rng.uniform(np.log(0.15), np.log(1.5)))),
            lf_hz=base.lf_hz,
            resp_hz=float(rng.uniform(0.10, 0.25)),
            trend_sd_ms=base.trend_sd_ms,
            trend_tau_s=base.trend_tau_s,
            ramp_bpm=base.ramp_bpm,
        )
    low = rng.random() < 0.25  # older or sedentary people: little variability
    sdnn = float(rng.uniform(8, 25)) if low else base.sdnn_ms
    return SinusParams(**{**base.__dict__, "sdnn_ms": sdnn})


def regular_tachycardia_rr(duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """A regular narrow-complex tachycardia (re-entrant SVT, or flutter with fixed 2:1 block):
    130-200 bpm with almost no beat-to-beat variation (SD 1-6 ms), not an irregular rhythm."""
    mean = 60_000 / rng.uniform(130, 200)
    n = int(duration_s * 1000 / mean) + 2
    return mean + rng.normal(0, rng.uniform(1, 6), n)


def draw_slow_af_params(rng: np.random.Generator) -> CohenParams:
    """Rate-controlled AF (beta blockers, digoxin lengthen AV refractoriness): about 50-75 bpm."""
    return CohenParams(
        atrial_rate_hz=float(rng.uniform(5, 8)),
        refractory_s=float(rng.uniform(0.5, 0.75)),
        delta_v_mv=float(rng.uniform(8, 30)),
        phase4_mv_per_s=float((V_THRESHOLD_MV - V_REST_MV) / rng.uniform(1.6, 2.4)),
    )


def draw_fast_af_params(rng: np.random.Generator) -> CohenParams:
    """Uncontrolled AF with a short AV refractory period: about 110-170 bpm."""
    return CohenParams(
        atrial_rate_hz=float(rng.uniform(6, 9)),
        refractory_s=float(rng.uniform(0.15, 0.25)),
        delta_v_mv=float(rng.uniform(15, 30)),
        phase4_mv_per_s=float((V_THRESHOLD_MV - V_REST_MV) / rng.uniform(1.2, 2.0)),
    )


def add_detection_artefacts(
    rr: np.ndarray, rng: np.random.Generator, every_s: float = 10.0
) -> np.ndarray:
    """One beat-detection artefact per `every_s` seconds of beats, of one of three kinds:
    a missed beat (two intervals merged), a doubled beat (one interval split at 30-70%), or a
    mislocated beat (one beat time moved by N(0, 80 ms), so two neighbours change oppositely),
    the failure modes of PPG and chest-strap detectors."""
    rr = list(rr)
    t, next_at, out = 0.0, rng.uniform(0, every_s) * 1000, []
    i = 0
    while i < len(rr):
        t += rr[i]
        if t >= next_at and i + 1 < len(rr):
            kind = rng.integers(3)
            if kind == 0:
                out.append(rr[i] + rr[i + 1])
                i += 2
            elif kind == 1:
                cut = rng.uniform(0.3, 0.7)
                out.extend([rr[i] * cut, rr[i] * (1 - cut)])
                i += 1
            else:
                shift = float(np.clip(rng.normal(0, 80), -0.4 * rr[i], 0.4 * rr[i + 1]))
                out.extend([rr[i] + shift, rr[i + 1] - shift])
                i += 2
            next_at += every_s * 1000
            continue
        out.append(rr[i])
        i += 1
    return np.asarray(out)
