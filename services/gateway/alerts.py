"""Alerts for the owner's and doctor's views, from the predictions stored in window records.

The rule is the notification peer's (services/predict/alert_policy.py, k-of-n per device): keep a
device's last n windows that could be judged, alert when k are irregular, then start afresh;
"insufficient_data" windows neither count nor push older ones out. Recomputed here from the stored
windows so the dapp shows exactly the alerts that were emailed, for any period, without a separate
alert table. k and n come from the gateway settings (defaults equal the predict service's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SCREEN_NOT_DIAGNOSIS = ("This is a screen for an irregular rhythm, not a diagnosis: "
                        "please confirm with a clinician and an ECG.")


@dataclass(frozen=True)
class StoredWindow:
    record_id: str
    device_id: str
    window_start_ms: int
    prediction: dict[str, Any] | None
    # an integrity problem ("tampered", "key_missing"): no prediction, judged neither way
    flag: str | None = None


def k_of_n_alerts(windows: Iterable[StoredWindow], k: int, n: int) -> list[dict[str, Any]]:
    """Alerts in window order; `windows` must be sorted by window start."""
    recent: dict[str, deque[bool]] = {}
    alerts = []
    for window in windows:
        status = (window.prediction or {}).get("status")
        if status not in ("regular", "irregular"):
            continue  # insufficient data or no prediction: judged neither way
        history = recent.setdefault(window.device_id, deque(maxlen=n))
        history.append(status == "irregular")
        irregular = sum(history)
        if irregular < k:
            continue
        alerts.append({"device_id": window.device_id, "record_id": window.record_id,
                       "window_start_ms": window.window_start_ms,
                       "irregular_count": irregular, "window_count": len(history),
                       "message": f"{irregular} of the last {len(history)} readable windows "
                                  f"looked irregular. {SCREEN_NOT_DIAGNOSIS}"})
        history.clear()
    return alerts


def unreadable_json(window: StoredWindow) -> dict[str, Any]:
    """How a window that failed its integrity checks is shown beside the alerts."""
    return {"device_id": window.device_id, "record_id": window.record_id,
            "window_start_ms": window.window_start_ms, "flag": window.flag,
            "message": "this window failed its integrity checks and was left out; "
                       "the operator was alerted"}
