"""A patient's consents (FHIR Consent) and access log (FHIR AuditEvent), from the chain's events."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.chain.enums import ConsentStatus
from services.gateway import validate
from services.gateway.context import gateway, owner_or_doctor
from services.gateway.fhir_export import audit_event_resource, bundle, consent_resource

blueprint = Blueprint("fhir", __name__)
# Every status change emits its event, and only Pending -> Approved/Denied and Approved -> Revoked
# exist: a request's status is its last decision in this order, or Pending without one.
DECIDED = ((ConsentStatus.APPROVED, "ConsentApproved"), (ConsentStatus.DENIED, "ConsentDenied"),
           (ConsentStatus.REVOKED, "ConsentRevoked"))


@blueprint.get("/patients/<owner>/fhir/consents")
def consents(owner: str):
    owner = validate.address(request.view_args["owner"], "owner")
    owner_or_doctor(owner)
    ledger = gateway().ledger
    # The requests first, then their decisions: a decision made in between is then seen, with
    # its request (the other way round, a request could show a status older than the export).
    requested = ledger.events("ConsentRequested", {"patient": owner})
    decided: dict[int, tuple[ConsentStatus, bytes]] = {}  # request id -> status, its block hash
    for status, name in DECIDED:
        for log in ledger.events(name, {"patient": owner}):
            decided[int(log["args"]["requestId"])] = (status, log["blockHash"])
    resources = []
    for log in requested:
        args = log["args"]
        request_id = int(args["requestId"])
        status, block = decided.get(request_id, (ConsentStatus.PENDING, None))
        resources.append(consent_resource({
            "requestId": request_id, "patient": args["patient"], "requester": args["requester"],
            "status": int(status), "dataClasses": int(args["dataClasses"]),
            "validFrom": int(args["validFrom"]), "validUntil": int(args["validUntil"]),
            "purposeOfUse": "0x" + bytes(args["purposeOfUse"]).hex(),
            "consentDocHash": "0x" + bytes(args["consentDocHash"]).hex(),
            "decidedAt": ledger.block_timestamp(block) if block is not None else None,
        }, chain_id=ledger.chain_id, contract=ledger.contract.address))
    return jsonify(bundle(resources))


@blueprint.get("/patients/<owner>/fhir/audit-events")
def audit_events(owner: str):
    owner = validate.address(request.view_args["owner"], "owner")
    owner_or_doctor(owner)
    ledger = gateway().ledger
    resources = []
    for log in ledger.events("AccessLogged", {"patient": owner}):
        args = log["args"]
        resources.append(audit_event_resource({
            "accessor": args["accessor"], "patient": args["patient"],
            "recordId": "0x" + bytes(args["recordId"]).hex(),
            "purchaseId": int(args["purchaseId"]),
            "txHash": log["transactionHash"].to_0x_hex(), "logIndex": log["logIndex"],
            "timestamp": ledger.block_timestamp(log["blockHash"]),
        }, chain_id=ledger.chain_id, contract=ledger.contract.address))
    return jsonify(bundle(resources))
