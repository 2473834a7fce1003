"""A patient makes an export of their own anchored windows for a period they choose (heart rate
and screen results, FHIR R4 + CSV, with inclusion proofs): sealed in the store as a bundle of class
EXPORTS. The answer is what to register: the patient (or their custodian) sends
`addRecord(patient, salt, 2, ciphertext_sha256, keccak(pointer), ciphertext_sha256)` from their wallet, so the export is
theirs on-chain (`pulseledger market export` does both steps)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway import validate
from services.gateway.context import gateway, signed_in
from services.gateway.errors import BadRequest, Forbidden, NotFound
from services.gateway.observability import log
from services.market.builder import period_windows, seal_bundle
from services.market.bundle_ids import export_id, export_salt
from services.market.documents import EXPORTS
from services.records import RecordNotFound, SellableRecord

blueprint = Blueprint("exports", __name__)
MAX_SPAN_MS = 31 * 24 * 3600 * 1000  # one export covers at most a month: bounded work per call
MAX_WINDOWS = 20_000  # … and at most this many windows (a month of one device is 267,840)


@blueprint.post("/patients/<owner>/exports")
def make_export(owner: str):
    owner = validate.address(owner, "owner")
    if signed_in() != owner:
        raise Forbidden("only the patient may export their own records")
    body = validate.json_body()
    from_ms = validate.uint(body.get("from_ms"), "from_ms", maximum=2**63 - 1)
    to_ms = validate.uint(body.get("to_ms"), "to_ms", maximum=2**63 - 1)
    if not 0 < to_ms - from_ms <= MAX_SPAN_MS:
        raise BadRequest("to_ms must be after from_ms, at most 31 days later")
    gw, patient = gateway(), owner.lower()
    record_id = export_id(patient, from_ms, to_ms)
    try:
        # made before: the same export
        return _answer(gw.store.bundle_meta(record_id), None, export_salt(from_ms, to_ms))
    except RecordNotFound:
        pass
    gw.budgets.spend(gw.limits.exports, owner)  # sealing is the costly part: bounded per patient
    windows = period_windows(gw.store, patient, from_ms, to_ms)
    if len(windows.anchored) > MAX_WINDOWS:
        raise BadRequest(f"{len(windows.anchored)} windows in this period; at most "
                         f"{MAX_WINDOWS} per export: choose a shorter period")
    record = seal_bundle(gw.store, patient, EXPORTS, (from_ms, to_ms), windows.anchored,
                         _anchored, blobs=gw.blobs, bundle_id=record_id)
    if record is None:
        raise NotFound("no anchored window of yours in this period (windows are anchored a few "
                       "seconds after they are stored)", code="nothing_to_export")
    log("export_sealed", owner=owner, record=record_id)
    return _answer(record, len(windows.anchored), export_salt(from_ms, to_ms)), 201


def _anchored(root: bytes) -> bool:
    return int(gateway().ledger.batch_anchor(root)["anchoredAt"]) != 0


def _answer(record: SellableRecord, windows: int | None, salt: bytes):
    return jsonify(record_id=record.bundle_id, data_class=record.data_class,
                   ciphertext_sha256="0x" + record.ciphertext_sha256.hex(),
                   pointer=record.pointer, version=record.version, windows=windows,
                   salt="0x" + salt.hex(),
                   register="addRecord(patient, salt, data_class, ciphertext_sha256, "
                            "keccak256(pointer), ciphertext_sha256) from the patient's wallet")
