"""Where a notification peer that is new to a user learns the user's recent predictions: the
window records in the record store, each of which carries its prediction.

A user's predictions go to the live notification peer closest to the user; when that changes (a
peer joins or dies), the new owner has no history for the user, or one with a hole in it. It
replays the stored predictions in between through its k-of-n policy, without alerting for them:
those windows were delivered to, and alerted by, the previous owner.

A batch asks for all its users at once: one read of their devices and one listing of their
owners' windows (list_windows_of_owners), not two reads per user. A peer new to every user of
a live stream (the benchmark's, or one that took over from a dead peer) met ~1,000 new users a
round, and their reads made its first rounds the slowest of the stream (2026-12-06).
"""

from __future__ import annotations

from services.records import RecordsError
from services.records.window_payload import PREDICTION_STATUSES

# Patients listed per call: a batch of 1,000 new users with an hour of stored windows each holds
# this many patients' windows in memory at once (~70,000), not all 360,000.
OWNERS_PER_LISTING = 200


def stored_statuses_of(store, ranges: dict[str, tuple[int, int]]
                       ) -> dict[str, list[tuple[int, str]]]:
    """{device: (after_ms, before_ms)} -> {device: (window start, prediction status) of its
    stored windows with after_ms < start < before_ms, oldest first}; erased or unreadable
    windows are skipped, and devices with none left out."""
    ranges = {device: (after, before) for device, (after, before) in ranges.items()
              if before > after + 1}
    devices = store.get_devices(list(ranges)) if ranges else {}
    if not devices:
        return {}
    since = min(ranges[device][0] for device in devices) + 1
    until = max(ranges[device][1] for device in devices)
    owners = sorted({d.owner for d in devices.values()})
    out: dict[str, list[tuple[int, str]]] = {}
    for i in range(0, len(owners), OWNERS_PER_LISTING):
        for meta in store.list_windows_of_owners(owners[i:i + OWNERS_PER_LISTING], since, until):
            _replay_one(store, meta, devices, ranges, out)
    for statuses in out.values():
        statuses.sort()
    return out


def _replay_one(store, meta, devices: dict, ranges: dict, out: dict) -> None:
    """Add the window's (start, status) to its device's list, if it is one of the asked
    device's own windows in its range and reads back authentic."""
    device = devices.get(meta.device_id)
    if device is None or device.owner != meta.owner or meta.erased:
        return  # the owner's other devices, or a window of a device they no longer own
    after, before = ranges[meta.device_id]
    if not after < meta.window_start_ms < before:
        return
    try:
        payload = store.get_window(meta.record_id)
    except RecordsError:  # erased meanwhile, or failed its integrity check: not evidence
        return
    prediction = payload.get("prediction") if isinstance(payload, dict) else None
    status = prediction.get("status") if isinstance(prediction, dict) else None
    if status in PREDICTION_STATUSES:
        out.setdefault(meta.device_id, []).append((meta.window_start_ms, status))
