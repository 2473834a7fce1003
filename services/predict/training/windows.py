"""Cut a beat series into aligned 10-second windows, both as RR intervals and as 1 Hz heart rates.

The 1 Hz heart rate is "beat-derived": at each whole second the device reports 60000 / the most
recent complete RR interval, rounded to a whole bpm (what a chest strap or watch that only sends
heart rate exposes). Averaging devices smooth more than this; the model card says so.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 10


def windows_from_rr(
    rr_ms: np.ndarray, lead_s: float = WINDOW_S
) -> tuple[list[np.ndarray], np.ndarray]:
    """Windows of an unbroken RR series (the first beat at time 0)."""
    beats = np.concatenate([[0.0], np.cumsum(rr_ms) / 1000.0])
    return windows_from_beats(beats, lead_s=lead_s)


def windows_from_beats(
    beat_times_s: np.ndarray, interval_ok: np.ndarray | None = None, lead_s: float = WINDOW_S
) -> tuple[list[np.ndarray], np.ndarray]:
    """(RR intervals per window, heart-rate readings (windows, 10)) for each full window.

    interval_ok marks intervals to keep (a detector's rejected beats leave gaps, as on a device).
    lead_s leaves room for a previous beat before the first one-per-second reading.
    """
    rr_ms = np.diff(beat_times_s) * 1000.0
    ends = beat_times_s[1:]
    if interval_ok is not None:
        rr_ms, ends = rr_ms[interval_ok], ends[interval_ok]
    rr_windows, hr_windows = [], []
    start = beat_times_s[0] + lead_s
    while start + WINDOW_S <= ends[-1]:
        inside = (ends >= start) & (ends < start + WINDOW_S)
        ticks = start + np.arange(1, WINDOW_S + 1)
        last = np.searchsorted(ends, ticks, side="right") - 1
        rr_windows.append(rr_ms[inside])
        hr_windows.append(np.round(60_000 / rr_ms[last]))
        start += WINDOW_S
    return rr_windows, np.asarray(hr_windows, dtype=np.float64).reshape(-1, WINDOW_S)
