"""A patient's consents (FHIR Consent) and access log (FHIR AuditEvent), from the chain's events."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.gateway import validate
from services.gateway.context import gateway, owner_or_doctor
from services.gateway.fhir_export import audit_event_resource, bundle, consent_resource

blueprint = Blueprint("fhir", __name__)
DECIDED = ("ConsentApproved", "ConsentDenied", "ConsentRevoked")


@blueprint.get("/patients/<owner>/fhir/consents")
def consents(owner: str):
    owner = validate.address(request.view_args["owner"], "owner")
    owner_or_doctor(owner)
    ledger = gateway().ledger
    decided_in: dict[int, bytes] = {}  # request id -> the hash of its decision's block
    for name in DECIDED:
        for log in ledger.events(name, {"patient": owner}):
            decided_in[int(log["args"]["requestId"])] = log["blockHash"]
    resources = []
    for log in ledger.events("ConsentRequested", {"patient": owner}):
        args = log["args"]
        request_id = int(args["requestId"])
        status = int(ledger.get_request(request_id)["status"])
        block = decided_in.get(request_id)
        resources.append(consent_resource({
            "requestId": request_id, "patient": args["patient"], "requester": args["requester"],
            "status": status, "dataClasses": int(args["dataClasses"]),
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
