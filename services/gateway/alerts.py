"""Alerts, episodes and AF burden for the owner's and doctor's views, from the predictions stored
in window records, by the one rule the notification peers email by (services/alerts): per
device, recomputed from the stored windows so the dapp shows the episodes that were emailed, for
any period, without an alert table of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.alerts import (
    ALL_CLEAR,
    LAPSED,
    REMINDER,
    STARTED,
    AlertSettings,
    Event,
    TimedWindow,
    Window,
    daily_burden,
    episode_events,
)
from services.predict.base import SCREEN_NOT_DIAGNOSIS

_SAYS = {
    STARTED: "{irregular} of the last {count} readable windows looked irregular: an episode began.",
    REMINDER: "The irregular rhythm that began earlier was still seen.",
    ALL_CLEAR: "The readings have looked regular again: the episode has ended.",
    LAPSED: "No readable windows came for a while: the episode's end is unknown.",
}


@dataclass(frozen=True)
class StoredWindow:
    record_id: str
    device_id: str
    window_start_ms: int
    prediction: dict[str, Any] | None
    # an integrity problem ("tampered", "key_missing"): no prediction, judged neither way
    flag: str | None = None
    window_ms: int = 10_000

    @property
    def status(self) -> str:
        return (self.prediction or {}).get("status") or "none"


def _by_device(windows: Iterable[StoredWindow]) -> dict[str, list[StoredWindow]]:
    devices: dict[str, list[StoredWindow]] = {}
    for window in windows:
        devices.setdefault(window.device_id, []).append(window)
    return devices


def _event_json(device_id: str, event: Event) -> dict[str, Any]:
    says = _SAYS[event.kind].format(irregular=event.irregular_count, count=event.window_count)
    return {"kind": event.kind, "device_id": device_id, "record_id": event.record_id,
            "window_start_ms": event.window_start_ms,
            "episode_start_ms": event.episode_start_ms,
            "irregular_count": event.irregular_count, "window_count": event.window_count,
            "message": f"{says} {SCREEN_NOT_DIAGNOSIS}"}


def alerts_and_episodes(windows: Iterable[StoredWindow], rule: AlertSettings,
                        since_ms: int = 0) -> tuple[list[dict], list[dict]]:
    """(notices, episodes) from `since_ms` on; `windows` may start earlier (max_age_s before)
    so an episode already under way is known. Notices: episode starts, reminders, all-clears
    and lapses in time order; episodes: {device_id, start_ms, end_ms (None: ongoing), ended}."""
    notices, episodes = [], []
    for device_id, own in _by_device(windows).items():
        events = episode_events([Window(w.window_start_ms, w.status, w.record_id) for w in own],
                                rule)
        open_episode: dict | None = None
        for event in events:
            if event.kind == STARTED:
                open_episode = {"device_id": device_id, "start_ms": event.window_start_ms,
                                "end_ms": None, "ended": None}
                episodes.append(open_episode)
            elif event.kind in (ALL_CLEAR, LAPSED) and open_episode is not None:
                open_episode["end_ms"] = event.window_start_ms
                open_episode["ended"] = event.kind
                open_episode = None
            if event.window_start_ms >= since_ms:
                notices.append(_event_json(device_id, event))
    notices.sort(key=lambda n: n["window_start_ms"])
    episodes = [e for e in episodes if e["end_ms"] is None or e["end_ms"] >= since_ms]
    episodes.sort(key=lambda e: e["start_ms"])
    return notices, episodes


def burden(windows: Iterable[StoredWindow], time_zone: str) -> list[dict]:
    return daily_burden([TimedWindow(w.window_start_ms, w.window_start_ms + w.window_ms, w.status)
                         for w in windows], time_zone)


def unreadable_json(window: StoredWindow) -> dict[str, Any]:
    """How a window that failed its integrity checks is shown beside the alerts."""
    return {"device_id": window.device_id, "record_id": window.record_id,
            "window_start_ms": window.window_start_ms, "flag": window.flag,
            "message": "this window failed its integrity checks and was left out; "
                       "the operator was alerted"}
