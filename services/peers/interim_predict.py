"""A rule predictor and k-of-n alert policy with the shapes of branch `ml` (services/predict),
used until it lands; `open_predictor` switches to `services.predict.load_predictor` then.

INTERIM rule: a window with fewer than 5 readings is insufficient_data; otherwise it is irregular
when its beat-to-beat intervals vary beyond what sinus rhythm does (coefficient of variation of RR
> 0.12, a common AF screening threshold), or, without RR, when the heart rate itself jumps around
(CV of heart rate > 0.10). A screen, not a diagnosis.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import defaultdict, deque
from dataclasses import dataclass

RULE = "rr_cv>0.12|hr_cv>0.10|min5"
RULE_SHA256 = hashlib.sha256(RULE.encode()).hexdigest()


@dataclass(frozen=True)
class Window:
    user_id: str
    start_ms: int
    heart_rates: tuple[float, ...]
    rr_ms: tuple[int, ...]


@dataclass(frozen=True)
class Prediction:
    status: str  # regular | irregular | insufficient_data
    probability: float
    input_kind: str  # rr | heart_rate | none
    model_sha256: str
    input_sha256: str
    reason: str


@dataclass(frozen=True)
class Alert:
    user_id: str
    window_start_ms: int
    probability: float
    reason: str


def _cv(values) -> float:
    mean = statistics.fmean(values)
    return statistics.pstdev(values) / mean if mean else 0.0


class RulePredictor:
    model_sha256 = RULE_SHA256

    def predict(self, window: Window) -> Prediction:
        digest = hashlib.sha256(json.dumps(
            [window.user_id, window.start_ms, list(window.heart_rates), list(window.rr_ms)]
        ).encode()).hexdigest()
        if len(window.heart_rates) < 5:
            return Prediction("insufficient_data", 0.0, "none", RULE_SHA256, digest,
                              "fewer than 5 readings in the window")
        if len(window.rr_ms) >= 8:
            cv, limit, kind = _cv(window.rr_ms), 0.12, "rr"
        else:
            cv, limit, kind = _cv(window.heart_rates), 0.10, "heart_rate"
        probability = round(min(1.0, cv / (2 * limit)), 4)
        status = "irregular" if cv > limit else "regular"
        return Prediction(status, probability, kind, RULE_SHA256, digest,
                          f"{kind} variation {'above' if cv > limit else 'within'} rule limit")

    def predict_batch(self, windows: list[Window]) -> list[Prediction]:
        return [self.predict(w) for w in windows]


class KOfNAlertPolicy:
    """Alert when k of the user's last n windows were irregular (k = n = 1: every irregular one)."""

    def __init__(self, k: int = 1, n: int = 1):
        self.k, self.n = k, n
        self._recent: dict[str, deque] = defaultdict(lambda: deque(maxlen=n))

    def observe(self, user_id: str, window_start_ms: int, prediction: Prediction) -> Alert | None:
        recent = self._recent[user_id]
        if any(start == window_start_ms for start, _ in recent):
            return None
        recent.append((window_start_ms, prediction.status == "irregular"))
        if prediction.status == "irregular" and sum(flag for _, flag in recent) >= self.k:
            return Alert(user_id, window_start_ms, prediction.probability, prediction.reason)
        return None
