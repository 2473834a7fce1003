"""Gasless consent: relay a patient's EIP-712 approve/deny/revoke to `decideBySig` from the
gateway's account, rate-limited per client IP and per patient."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.chain.eip712 import consent_decision_typed_data
from services.gateway import validate
from services.gateway.context import client_address, gateway
from services.gateway.errors import BadRequest, NotFound, Unauthorized
from services.gateway.ledger import DECISIONS
from services.gateway.observability import log
from services.gateway.typed_data import recover_typed

blueprint = Blueprint("relay", __name__)


@blueprint.post("/relay/consent-decision")
def relay_decision():
    gw = gateway()
    gw.budgets.spend(gw.limits.relay_per_ip, client_address())
    body = validate.json_body()
    request_id = validate.uint(body.get("request_id"), "request_id", minimum=1)
    decision = body.get("decision")
    decision = DECISIONS.get(decision) if isinstance(decision, str) else decision
    decision = validate.uint(decision, "decision (approve|deny|revoke or 1..3)", minimum=1,
                             maximum=3)
    deadline = validate.uint(body.get("deadline"), "deadline")
    signature = validate.hex_bytes(body.get("signature"), "signature", lengths=(65,))

    consent = gw.ledger.get_request(request_id)
    patient = consent["patient"]
    if int(patient, 16) == 0:
        raise NotFound("no consent request with this id")
    typed = consent_decision_typed_data(
        request_id=request_id, decision=decision, nonce=gw.ledger.nonce_of(patient),
        deadline=deadline, chain_id=gw.ledger.chain_id,
        verifying_contract=gw.ledger.contract.address)
    if recover_typed(typed, signature) != patient:
        raise Unauthorized("the signature is not the patient's for this request, decision and "
                           "current nonce")
    gw.budgets.spend(gw.limits.relay_per_patient, patient)
    if deadline < gw.ledger.latest_timestamp():
        raise BadRequest("the signature's deadline has passed")
    result = gw.ledger.decide_by_sig(request_id, decision, deadline, signature)
    gw.metrics.chain_tx.labels("decideBySig").inc()
    log("consent_relayed", request=request_id, decision=decision, tx=result.tx_hash)
    return jsonify(request_id=request_id, decision=decision, tx_hash=result.tx_hash,
                   block_number=result.block_number)
