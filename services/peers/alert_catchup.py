"""Where a notification peer that is new to a user learns the user's recent predictions: the
window records in the record store, each of which carries its prediction.

A user's predictions go to the live notification peer closest to the user; when that changes (a
peer joins or dies), the new owner has no history for the user, or one with a hole in it. It
replays the stored predictions in between through its k-of-n policy, without alerting for them:
those windows were delivered to, and alerted by, the previous owner.
"""

from __future__ import annotations

from services.records import RecordsError
from services.records.window_payload import PREDICTION_STATUSES

PAGE = 500


def stored_statuses(store, device_id: str, after_ms: int, before_ms: int) -> list[tuple[int, str]]:
    """(window start, prediction status) of the device's stored windows with
    after_ms < start < before_ms, oldest first; erased or unreadable windows are skipped."""
    device = store.get_device(device_id)
    if device is None or before_ms <= after_ms + 1:
        return []
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    since = after_ms + 1
    while True:
        page = store.list_windows(device.owner, since_ms=since, limit=PAGE)
        for meta in page:
            if meta.window_start_ms >= before_ms:
                return out
            if meta.record_id in seen or meta.device_id != device_id or meta.erased:
                continue
            seen.add(meta.record_id)
            try:
                payload = store.get_window(meta.record_id)
            except RecordsError:  # erased meanwhile, or failed its integrity check: not evidence
                continue
            prediction = payload.get("prediction") if isinstance(payload, dict) else None
            status = prediction.get("status") if isinstance(prediction, dict) else None
            if status in PREDICTION_STATUSES:
                out.append((meta.window_start_ms, status))
        if len(page) < PAGE or page[-1].window_start_ms == since:
            return out  # the end, or a page of one start only (the owner's other devices)
        since = page[-1].window_start_ms  # inclusive: `seen` skips the rows read already
