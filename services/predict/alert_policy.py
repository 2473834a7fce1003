"""k-of-n alert policy: one irregular window is not an alert.

Per user, keep the last n windows that had enough data to be judged; alert when at least k of them
are irregular (Apple's irregular rhythm notification, for scale, needs 5 of 6 ~1-minute tachograms).
Windows answered "insufficient_data" neither count nor push older windows out. After an alert the
user's history starts again, so one episode gives one alert and a new alert needs k fresh irregular
windows. A window whose start is not later than the last one seen for that user (a replay or a
duplicate delivery) is ignored, so observing the same stream twice never doubles an alert.
With max_age_ms set, windows that started longer ago than that before the newest one are
forgotten, so an irregular window from this morning never combines with one from tonight.
Not thread-safe: one policy per consumer thread, or a lock around observe().
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.predict.base import SCREEN_NOT_DIAGNOSIS, Prediction

if TYPE_CHECKING:
    from services.predict.settings import PredictSettings


@dataclass(frozen=True)
class Alert:
    user_id: str
    window_start_ms: int  # start of the window that completed the k-of-n condition
    irregular_count: int
    window_count: int
    message: str  # always says it is a screen, not a diagnosis


class KOfNAlertPolicy:
    def __init__(self, k: int, n: int, max_age_ms: int | None = None):
        if not (1 <= k <= n):
            raise ValueError(f"k-of-n needs 1 <= k <= n, got k={k}, n={n}")
        if max_age_ms is not None and max_age_ms <= 0:
            raise ValueError(f"max_age_ms must be positive, got {max_age_ms}")
        self.k = k
        self.n = n
        self.max_age_ms = max_age_ms
        self._recent: dict[str, deque[tuple[int, bool]]] = {}
        self._last_start_ms: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: PredictSettings | None = None) -> KOfNAlertPolicy:
        from services.predict.settings import PredictSettings

        settings = settings or PredictSettings()
        return cls(settings.alert_k, settings.alert_n, settings.alert_max_age_ms)

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
        if self.max_age_ms is not None:
            while recent and recent[0][0] < window_start_ms - self.max_age_ms:
                recent.popleft()
        recent.append((window_start_ms, prediction.status == "irregular"))
        irregular = sum(flag for _, flag in recent)
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

    def knows(self, user_id: str) -> bool:
        return user_id in self._last_start_ms

    def state(self, user_id: str) -> tuple[int | None, list[tuple[int, bool]]]:
        """A user's history, to persist: (latest window start seen, [(window start, irregular)]
        of the judged windows since the last alert, oldest first, at most n)."""
        return (self._last_start_ms.get(user_id), list(self._recent.get(user_id, ())))

    def restore(
        self, user_id: str, last_start_ms: int | None, recent: list[tuple[int, bool]]
    ) -> None:
        """Put back a history `state` returned (after a restart, or to undo a failed batch)."""
        self.forget(user_id)
        if last_start_ms is not None:
            self._last_start_ms[user_id] = last_start_ms
        if recent:
            self._recent[user_id] = deque(sorted(recent)[-self.n :], maxlen=self.n)

    def forget(self, user_id: str) -> None:
        """Drop a user's history (consent withdrawn, device changed)."""
        self._recent.pop(user_id, None)
        self._last_start_ms.pop(user_id, None)
