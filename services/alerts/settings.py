"""The alert rule's one set of settings (PULSELEDGER_ALERTS_*): read by the notification peers
that email, the gateway that shows alerts and episodes, and so by the dapp."""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_ALERTS_")

    # An episode starts when k of a patient's last n readable windows are irregular (Apple's
    # irregular rhythm notification, for scale, needs 5 of 6 tachograms) ...
    k: int = 5
    n: int = 6
    # ... and those n windows lie within max_age_s of the newest: a sparse stream (a watch that
    # sends a window every few minutes) still alerts; a morning window never joins an evening one.
    max_age_s: float = 3600.0
    # While an episode lasts: a reminder at most this often, and only on a new irregular window.
    reminder_every_s: float = 6 * 3600.0
    # It ends (all-clear) after this many readable windows in a row are regular ...
    clear_after_regular: int = 6
    # ... or lapses, without an all-clear, when no readable window came for this long.
    lapse_after_s: float = 3600.0
    # A window arriving up to this late (window time, behind the newest) still takes its place in
    # time order; later ones are too late to change anything. Also bounds the work per window.
    reorder_s: float = 120.0

    @model_validator(mode="after")
    def _bounds(self) -> AlertSettings:
        if not 1 <= self.k <= self.n:
            raise ValueError(f"alerts need 1 <= k <= n, got k={self.k}, n={self.n}")
        if min(self.max_age_s, self.reminder_every_s, self.lapse_after_s, self.reorder_s) <= 0:
            raise ValueError("max_age_s, reminder_every_s, lapse_after_s and reorder_s must be "
                             "positive")
        if self.clear_after_regular < 1:
            raise ValueError("clear_after_regular must be at least 1")
        return self
