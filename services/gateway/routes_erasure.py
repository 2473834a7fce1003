"""A patient erases their own records: the gateway destroys the keys (crypto-shredding) of every
window it stores for them and of every registered bundle it holds, then answers which on-chain
records are still active, for the patient's wallet to retire (`retireRecord`: only the patient or
their custodian may, and it costs gas the gateway should not spend on their behalf).

Two proofs, because it cannot be undone: the session must be the patient's (EIP-4361 sign-in) and
the request itself must carry the patient's EIP-712 signature over a fresh gateway nonce, so
neither a stolen session token nor a replayed request erases anything.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway import validate
from services.gateway.context import gateway, signed_in
from services.gateway.errors import Forbidden, Unauthorized
from services.gateway.observability import log
from services.gateway.typed_data import recover_typed
from services.records import RecordNotFound

blueprint = Blueprint("erasure", __name__)

# What the wallet shows the patient before they sign: the consequence, in words.
STATEMENT = ("Erase my PulseLedger records: destroy the keys of my heart-rate windows and "
             "exports. This cannot be undone.")
ERASE_TYPES = [{"name": "owner", "type": "address"}, {"name": "statement", "type": "string"},
               {"name": "nonce", "type": "string"}]
RECORD_ACTIVE = 1
PAGE = 500


def erasure_typed_data(owner: str, nonce: str, chain_id: int) -> dict[str, Any]:
    """The onboarding domain (docs/gateway.md): no verifying contract, the gateway checks it."""
    return {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"},
                                   {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"}],
                  "EraseRecords": ERASE_TYPES},
        "primaryType": "EraseRecords",
        "domain": {"name": "PulseLedger Gateway", "version": "1", "chainId": chain_id},
        "message": {"owner": owner, "statement": STATEMENT, "nonce": nonce},
    }


@blueprint.post("/patients/<owner>/erasure")
def erase_my_records(owner: str):
    owner = validate.address(owner, "owner")
    if signed_in() != owner:
        raise Forbidden("only the patient may erase their own records")
    body = validate.json_body()
    nonce = validate.string(body.get("nonce"), "nonce", max_length=64,
                            pattern=r"[0-9a-zA-Z]{8,64}")
    signature = validate.hex_bytes(body.get("signature"), "signature", lengths=(65,))
    gw = gateway()
    if recover_typed(erasure_typed_data(owner, nonce, gw.ledger.chain_id), signature) != owner:
        raise Unauthorized("the erasure request must be signed by the patient's wallet")
    gw.nonces.consume(nonce)
    # Each erasure pages through all the patient's windows: bound what one patient asks of us
    # (a budget in the shared state, so it holds across replicas).
    gw.budgets.spend(gw.limits.erasures, owner)
    windows, already = _erase_windows(gw.store, owner.lower())
    bundles, on_chain = _erase_registered_bundles(gw, owner)
    log("records_erased", owner=owner, windows=windows, bundles=bundles)
    return jsonify(owner=owner, windows_erased=windows, windows_already_erased=already,
                   bundles_erased=bundles, on_chain_records=on_chain,
                   to_retire=[r["record_id"] for r in on_chain if r["active"]])


def _erase_windows(store, owner: str) -> tuple[int, int]:
    """Page through every window of the owner (start time ascending, `since` inclusive)."""
    erased = already = 0
    seen: set[str] = set()
    since = 0
    while True:
        page = store.list_windows(owner, since_ms=since, limit=PAGE)
        fresh = [meta for meta in page if meta.record_id not in seen]
        if not fresh:
            return erased, already
        for meta in fresh:
            seen.add(meta.record_id)
            if meta.erased:
                already += 1
            else:
                store.erase(meta.record_id)
                erased += 1
        if len(page) < PAGE:
            return erased, already
        since = page[-1].window_start_ms


def _erase_registered_bundles(gw, owner: str) -> tuple[int, list[dict[str, Any]]]:
    """Bundles are found from the registry (RecordAdded for this patient): the chain is the index
    of what was ever offered; the store holds the keys of those it keeps."""
    erased = 0
    records: dict[str, dict[str, Any]] = {}
    for event in gw.ledger.events("RecordAdded", {"patient": owner}):
        record_id = "0x" + bytes(event["args"]["recordId"]).hex()
        if record_id in records:
            continue
        try:
            meta = gw.store.bundle_meta(record_id)
        except RecordNotFound:
            meta = None  # registered by a custodian whose store is not this one
        if meta is not None and meta.owner.lower() == owner.lower() and not meta.erased:
            gw.store.erase(record_id)
            erased += 1
        status = int(gw.ledger.get_record(bytes.fromhex(record_id[2:]))["status"])
        records[record_id] = {"record_id": record_id,
                              "data_class": int(event["args"]["dataClass"]),
                              "active": status == RECORD_ACTIVE,
                              "key_destroyed": meta is not None}
    return erased, list(records.values())
