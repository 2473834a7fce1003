"""Beat-to-beat interval generator for the simulator.

Regular rhythm: a sinus rhythm whose RR intervals follow the mean heart rate with respiratory sinus
arrhythmia (0.25 Hz, ±4 %) and small beat-to-beat noise (≈20 ms). Irregular rhythm: atrial
fibrillation after the independent-interval model (RR intervals drawn i.i.d., no correlation
between successive beats; here a normal with coefficient of variation 0.25 around a faster mean,
clipped to 280–1600 ms), the simple AF surrogate used e.g. by Corino et al. before adding
AV-node detail. Neither is a clinical model: they give the screen something realistic to look at.
"""

from __future__ import annotations

import math
import random


class HeartModel:
    def __init__(self, rng: random.Random, irregular: bool):
        self.rng = rng
        self.irregular = irregular
        self.mean_hr = rng.uniform(95, 125) if irregular else rng.uniform(58, 82)
        self.clock_ms = 0.0
        self.next_beat_ms = rng.uniform(0, 1000)

    def _next_rr(self) -> float:
        mean_rr = 60_000 / self.mean_hr
        if self.irregular:
            return min(1600.0, max(280.0, self.rng.gauss(mean_rr, 0.25 * mean_rr)))
        breathing = 1 + 0.04 * math.sin(2 * math.pi * 0.25 * self.next_beat_ms / 1000)
        return mean_rr * breathing + self.rng.gauss(0, 20)

    def second(self) -> tuple[float, list[int]]:
        """The next second: (heart rate from this second's beats, RR intervals that ended in it)."""
        end = self.clock_ms + 1000
        rr: list[int] = []
        while self.next_beat_ms < end:
            interval = self._next_rr()
            self.next_beat_ms += interval
            rr.append(round(interval))
        self.clock_ms = end
        self.mean_hr = min(180, max(45, self.mean_hr + self.rng.gauss(0, 0.3)))
        heartrate = 60_000 / (sum(rr) / len(rr)) if rr else self.mean_hr
        return round(heartrate, 1), rr
