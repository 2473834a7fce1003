"""The patient and their linked doctor read the patient's windows (readings + predictions and the
alerts they carry); the live view is in routes_live.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from services.gateway import validate
from services.gateway.alerts import StoredWindow, alerts_and_episodes, burden, unreadable_json
from services.gateway.context import gateway, owner_or_doctor
from services.gateway.errors import Gone, NotFound, Tampered
from services.gateway.observability import log
from services.records import (
    KeyMissing,
    NotAnchored,
    RecordErased,
    RecordNotFound,
    TamperDetected,
)
from services.records.validation import window_record_id

blueprint = Blueprint("owner", __name__)
RECORD_ID = r"[0-9A-Za-z_:.\-]{1,128}"


def _anchored(root: bytes) -> bool:
    """Is this batch root anchored on-chain? (`batchAnchor(root).anchoredAt` is 0 when not.)"""
    return int(gateway().ledger.batch_anchor(root)["anchoredAt"]) != 0


def read_window(record_id: str) -> dict[str, Any]:
    store = gateway().store
    try:
        meta = store.window_meta(record_id)
        # anchored by the storage peers: the chain must agree. Built but not anchored yet (the
        # seconds an anchoring takes): the store's own checks, as for an unbatched window.
        check = _anchored if meta.anchored else None
        return store.get_window(record_id, anchor_check=check)
    except RecordNotFound:
        raise NotFound("no such window record") from None
    except RecordErased:
        raise Gone("this record was erased: its key is destroyed") from None
    except KeyMissing:
        _integrity_failure(record_id, "key_missing")
        raise Tampered("the record's key is missing (not erased): nothing is served; the "
                       "operator was alerted", code="key_missing") from None
    except (TamperDetected, NotAnchored):
        _integrity_failure(record_id, "tampered")
        raise Tampered("tampering detected: the record does not match its anchor; "
                       "nothing is served") from None


def _integrity_failure(record_id: str, problem: str) -> None:
    """The alert for the operator: a structured log line with the record id, and a counter
    (gateway_record_integrity_failures_total) an alerting rule watches."""
    log("tamper_detected" if problem == "tampered" else "record_key_missing",
        record=record_id, path="owner")
    gateway().metrics.integrity_failures.labels("owner", problem).inc()


def _read_or_flag(meta) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None), or (None, flag) for a window that fails its checks: one bad window costs
    only itself in a list. A window the store already flagged is not read again here (no alert
    on every refresh); reading it alone (GET /windows/<id>) checks it afresh."""
    if meta.flag is not None:
        return None, meta.flag
    try:
        return read_window(meta.record_id), None
    except Tampered as error:
        return None, "key_missing" if error.code == "key_missing" else "tampered"


def _meta_json(meta) -> dict[str, Any]:
    """`part_of`: for a window's later part (readings stored after its record,
    store.add_to_window), the record id of the window it belongs to; None for the window's own
    record. A reader drawing windows merges a part into it rather than drawing it twice."""
    first = window_record_id(gateway().store.namespace, meta.device_id, meta.window_start_ms)
    return {"record_id": meta.record_id, "device_id": meta.device_id,
            "window_start_ms": meta.window_start_ms, "created_ms": meta.created_ms,
            "ciphertext_sha256": "0x" + meta.ciphertext_sha256.hex(),
            "batch_root": "0x" + meta.batch_root.hex() if meta.batch_root else None,
            "erased": meta.erased, "flag": meta.flag,
            "part_of": None if meta.record_id == first else first}


@blueprint.get("/patients/<owner>/windows")
def list_windows(owner: str):
    owner = validate.address(request.view_args["owner"], "owner")
    owner_or_doctor(owner)
    since_ms = validate.query_uint("since_ms", default=0, maximum=2**63 - 1)
    limit = validate.query_uint("limit", default=100, maximum=gateway().settings.max_list_limit)
    with_payload = request.args.get("payload", "false") == "true"
    windows = []
    for meta in gateway().store.list_windows(owner.lower(), since_ms=since_ms, limit=limit):
        item = _meta_json(meta)
        if with_payload and not meta.erased:
            try:
                payload, item["flag"] = _read_or_flag(meta)
            except Gone:  # erased between the listing and the read
                payload, item["erased"] = None, True
            if payload is not None:
                item["payload"] = payload
        windows.append(item)
    return jsonify(owner=owner, windows=windows)


def _judged_windows(owner: str, since_ms: int, limit: int):
    """(windows, flagged) of the owner from since_ms: each read and checked; erased ones left
    out, ones failing their checks flagged and judged neither way. A window's later parts
    (readings stored after its record, store.add_to_window) are not judged apart: the alert
    rule counts windows, and the notification peers emailed by the window's first record."""
    windows, flagged = [], []
    store = gateway().store
    for meta in store.list_windows(owner.lower(), since_ms=since_ms, limit=limit):
        if meta.erased or meta.record_id != window_record_id(store.namespace, meta.device_id,
                                                              meta.window_start_ms):
            continue
        try:
            payload, flag = _read_or_flag(meta)
        except Gone:
            continue
        payload = payload if isinstance(payload, dict) else {}
        prediction = payload.get("prediction")
        window = StoredWindow(meta.record_id, meta.device_id, meta.window_start_ms,
                              prediction if isinstance(prediction, dict) else None, flag,
                              int(payload.get("window_ms") or 10_000))
        (flagged if flag else windows).append(window)
    return windows, flagged


@blueprint.get("/patients/<owner>/alerts")
def list_alerts(owner: str):
    """Notices (an episode began, continues, ended) and episodes from `since_ms`, by the rule the
    notification peers email by (services/alerts); windows that fail their integrity checks are
    listed under `flagged` and judged neither way."""
    owner = validate.address(owner, "owner")
    owner_or_doctor(owner)
    gw = gateway()
    rule = gw.settings.alerts
    since_ms = validate.query_uint("since_ms", default=0, maximum=2**63 - 1)
    limit = validate.query_uint("limit", default=gw.settings.max_list_limit,
                                maximum=gw.settings.max_list_limit)
    # From max_age before: an episode under way at since_ms is known as such.
    lookback = max(0, since_ms - int(rule.max_age_s * 1000))
    windows, flagged = _judged_windows(owner, lookback, limit)
    notices, episodes = alerts_and_episodes(windows, rule, since_ms)
    return jsonify(owner=owner, k=rule.k, n=rule.n, max_age_s=rule.max_age_s,
                   reminder_every_s=rule.reminder_every_s,
                   clear_after_regular=rule.clear_after_regular,
                   windows_examined=len(windows), alerts=notices, episodes=episodes,
                   flagged=[unreadable_json(w) for w in flagged if w.window_start_ms >= since_ms])


@blueprint.get("/patients/<owner>/burden")
def af_burden(owner: str):
    """AF burden per day in `tz` (an IANA zone; default the zone the patient set, else UTC): the
    share of monitored (readable) time the screen found irregular."""
    owner = validate.address(owner, "owner")
    owner_or_doctor(owner)
    gw = gateway()
    since_ms = validate.query_uint("since_ms", default=0, maximum=2**63 - 1)
    limit = validate.query_uint("limit", default=gw.settings.max_list_limit,
                                maximum=gw.settings.max_list_limit)
    default_zone = gw.store.get_profile(owner.lower()).time_zone
    time_zone = validate.time_zone(request.args.get("tz", default_zone), "tz")
    windows, _ = _judged_windows(owner, since_ms, limit)
    return jsonify(owner=owner, time_zone=time_zone, windows_examined=len(windows),
                   truncated=len(windows) >= limit, days=burden(windows, time_zone))


@blueprint.get("/patients/<owner>/windows/<record_id>")
def get_window(owner: str, record_id: str):
    owner = validate.address(request.view_args["owner"], "owner")
    record_id = validate.string(request.view_args["record_id"], "record_id", max_length=128,
                                pattern=RECORD_ID)
    owner_or_doctor(owner)
    try:
        meta = gateway().store.window_meta(record_id)
    except RecordNotFound:
        raise NotFound("no such window record") from None
    if meta.owner.lower() != owner.lower():
        raise NotFound("no such window record for this patient")
    payload = read_window(record_id)  # checks the window afresh, flagged or not
    if meta.flag is not None:  # it read: the store cleared the flag
        meta = gateway().store.window_meta(record_id)
    return jsonify(**_meta_json(meta), payload=payload)
