"""k-of-n alert policy: one irregular window is not an alert.

Per user, keep the last n windows that had enough data to be judged; alert when at least k of them
are irregular (Apple's irregular rhythm notification, for scale, needs 5 of 6 ~1-minute tachograms).
Windows answered "insufficient_data" neither count nor push older windows out. After an alert the
user's history starts again, so one episode gives one alert and a new alert needs k fresh irregular
windows. A window whose start is not later than the last one seen for that user (a replay or a
duplicate delivery) is ignored, so observing the same stream twice never doubles an alert.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from services.predict.base import SCREEN_NOT_DIAGNOSIS, Prediction


@dataclass(frozen=True)
class Alert:
    user_id: str
    window_start_ms: int  # start of the window that completed the k-of-n condition
    irregular_count: int
    window_count: int
    message: str  # always says it is a screen, not a diagnosis


class KOfNAlertPolicy:
    def __init__(self, k: int, n: int):
        if not (1 <= k <= n):
            raise ValueError(f"k-of-n needs 1 <= k <= n, got k={k}, n={n}")
        self.k = k
        self.n = n
        self._recent: dict[str, deque[bool]] = {}
        self._last_start_ms: dict[str, int] = {}

    def observe(
        self, prediction_user_id: str, window_start_ms: int, prediction: Prediction
    ) -> Alert | None:
        last = self._last_start_ms.get(prediction_user_id)
        if last is not None and window_start_ms <= last:
            return None
        self._last_start_ms[prediction_user_id] = window_start_ms
        if prediction.status == "insufficient_data":
            return None
        recent = self._recent.setdefault(prediction_user_id, deque(maxlen=self.n))
        recent.append(prediction.status == "irregular")
        irregular = sum(recent)
        if irregular < self.k:
            return None
        window_count = len(recent)
        recent.clear()
        return Alert(
            user_id=prediction_user_id,
            window_start_ms=window_start_ms,
            irregular_count=irregular,
            window_count=window_count,
            message=(
                f"{irregular} of the last {window_count} readable windows looked irregular. "
                + SCREEN_NOT_DIAGNOSIS
            ),
        )

    def forget(self, user_id: str) -> None:
        """Drop a user's history (consent withdrawn, device changed)."""
        self._recent.pop(user_id, None)
        self._last_start_ms.pop(user_id, None)
