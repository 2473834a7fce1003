"""Alerts: one rule (episodes from screened windows), the AF burden, and the emails they send.
Used by the notification peers, the gateway's /alerts and /burden, and so by the dapp."""

from services.alerts.burden import TimedWindow, daily_burden
from services.alerts.rule import (
    ALL_CLEAR,
    LAPSED,
    NOTIFIED,
    REMINDER,
    STARTED,
    EpisodeTracker,
    Event,
    Window,
    episode_events,
    episode_starts,
    ongoing_episode_start,
)
from services.alerts.settings import AlertSettings

__all__ = ["ALL_CLEAR", "LAPSED", "NOTIFIED", "REMINDER", "STARTED", "AlertSettings",
           "EpisodeTracker", "Event", "TimedWindow", "Window", "daily_burden", "episode_events",
           "episode_starts", "ongoing_episode_start"]
