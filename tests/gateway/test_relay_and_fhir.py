"""Gasless consent through the relay (real anvil) and FHIR R4 exports of consents and accesses."""

import os

from fhir.resources.R4B.bundle import Bundle

from services.chain.eip712 import consent_decision_typed_data
from services.gateway.typed_data import sign_typed
from tests.gateway.conftest import EXPORTS, bearer, sign_in

APPROVED = 2


def _relay(client, body, ip):
    """Each test relays from its own client address: the per-IP budget is shared app state."""
    return client.post("/relay/consent-decision", json=body, environ_base={"REMOTE_ADDR": ip})


def _pending_request(chain):
    patient, requester = chain.fund(), chain.fund()
    now = chain.now()
    receipt = chain.send(requester, chain.contract.functions.requestConsent(
        patient.address, b"HRESCH".ljust(32, b"\0"), 1 << EXPORTS, now - 60, now + 3600,
        os.urandom(32)))
    request_id = chain.contract.events.ConsentRequested().process_receipt(
        receipt)[0]["args"]["requestId"]
    return patient, requester, request_id


def _decision(chain, patient, request_id, decision=1, deadline=None):
    deadline = deadline or chain.now() + 600
    typed = consent_decision_typed_data(
        request_id=request_id, decision=decision,
        nonce=chain.contract.functions.nonces(patient.address).call(), deadline=deadline,
        chain_id=31337, verifying_contract=chain.contract.address)
    return {"request_id": request_id, "decision": {1: "approve", 2: "deny", 3: "revoke"}[decision],
            "deadline": deadline, "signature": sign_typed(typed, patient.key).to_0x_hex()}


def test_relay__patient_signature__submitted_by_the_gateway(client, chain, gateway_account):
    patient, _, request_id = _pending_request(chain)
    body = _decision(chain, patient, request_id)
    response = _relay(client, body, "127.0.1.1")
    assert response.status_code == 200, response.get_json()
    tx = chain.w3.eth.get_transaction(response.get_json()["tx_hash"])
    assert tx["from"] == gateway_account.address
    assert chain.contract.functions.getRequest(request_id).call()[1] == APPROVED

    replay = _relay(client, body, "127.0.1.1")  # the nonce moved on: no longer the patient's
    assert replay.status_code == 401


def test_relay__wrong_signer_or_expired__refused(client, chain):
    patient, requester, request_id = _pending_request(chain)
    forged = _relay(client, _decision(chain, requester, request_id), "127.0.1.2")
    assert forged.status_code == 401
    expired = _relay(client, _decision(chain, patient, request_id, deadline=1), "127.0.1.2")
    assert expired.status_code == 400
    assert "deadline" in expired.get_json()["message"]


def test_relay__per_patient_budget__429(app, chain):
    client = app.test_client()
    patient, _, _ = _pending_request(chain)
    statuses = []
    for _ in range(4):  # relay_per_patient=3 in the test settings
        _, _, request_id = _pending_request_for(chain, patient)
        statuses.append(client.post("/relay/consent-decision",
                                    json=_decision(chain, patient, request_id),
                                    environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code)
    assert statuses == [200, 200, 200, 429]


def test_relay__per_ip_budget__429(app, chain):
    client = app.test_client()
    statuses = [client.post("/relay/consent-decision", json={"request_id": "x"},
                            environ_base={"REMOTE_ADDR": "127.0.0.10"}).status_code
                for _ in range(7)]  # relay_per_ip=6: malformed requests count too
    assert statuses == [400] * 6 + [429]


def _pending_request_for(chain, patient):
    requester = chain.fund()
    now = chain.now()
    receipt = chain.send(requester, chain.contract.functions.requestConsent(
        patient.address, b"HRESCH".ljust(32, b"\0"), 1 << EXPORTS, now - 60, now + 3600,
        os.urandom(32)))
    return patient, requester, chain.contract.events.ConsentRequested().process_receipt(
        receipt)[0]["args"]["requestId"]


def test_fhir__consents_and_audit_events__validate_as_r4(client, market):
    sale = market.sale()
    token = sign_in(client, sale.patient)

    consents = client.get(f"/patients/{sale.patient.address}/fhir/consents",
                          headers=bearer(token))
    assert consents.status_code == 200, consents.get_json()
    bundle = Bundle.model_validate(consents.get_json())
    [consent] = [entry.resource for entry in bundle.entry]
    assert consent.status == "active"
    assert consent.provision.actor[0].reference.identifier.value.endswith(sale.buyer.address)
    assert consent.provision.class_fhir[0].code == "EXPORTS"
    [purpose] = consent.provision.purpose  # the HL7 code the contract takes, as FHIR names it
    assert (purpose.system, purpose.code) == (
        "http://terminology.hl7.org/CodeSystem/v3-ActReason", "HRESCH")

    audit = client.get(f"/patients/{sale.patient.address}/fhir/audit-events",
                       headers=bearer(token))
    assert audit.status_code == 200
    [event] = [entry.resource for entry in Bundle.model_validate(audit.get_json()).entry]
    assert event.get_resource_type() == "AuditEvent"
    assert event.entity[0].what.identifier.value == sale.record_id
    assert event.agent[0].who.identifier.value.endswith(sale.buyer.address)

    stranger = client.get(f"/patients/{sale.patient.address}/fhir/consents",
                          headers=bearer(sign_in(client, sale.buyer)))
    assert stranger.status_code == 403


def test_fhir__each_block_read_once__a_repeat_export_reads_none(client, market, monkeypatch):
    """The chain (anvil) is real; only its block reads are counted."""
    sale = market.sale()
    token = sign_in(client, sale.patient)
    eth = client.application.extensions["pulseledger_gateway"].ledger.w3.eth
    reads = []
    real_get_block = eth.get_block
    monkeypatch.setattr(eth, "get_block", lambda *a, **k: reads.append(a) or real_get_block(*a, **k))
    paths = [f"/patients/{sale.patient.address}/fhir/{kind}" for kind in ("consents", "audit-events")]
    first = [client.get(path, headers=bearer(token)).get_json() for path in paths]
    assert 1 <= len(reads) <= 2  # the decision's block and the access's (one, when they share it)
    read_first = len(reads)
    again = [client.get(path, headers=bearer(token)).get_json() for path in paths]
    assert len(reads) == read_first
    # the same resources; each Bundle's timestamp is when it was made (a second apart or not)
    assert [bundle["entry"] for bundle in again] == [bundle["entry"] for bundle in first]


def test_fhir__consent_status_from_its_events__no_read_per_request(client, chain, monkeypatch):
    """Pending, approved, denied, approved then revoked: each status as FHIR names it, from the
    chain's events (anvil) alone — no getRequest call per consent."""
    patient, _, pending = _pending_request(chain)
    made = {"pending": pending}
    for name in ("approved", "denied", "revoked"):
        _, _, made[name] = _pending_request_for(chain, patient)
    functions = chain.contract.functions
    chain.send(patient, functions.approve(made["approved"]))
    chain.send(patient, functions.deny(made["denied"]))
    chain.send(patient, functions.approve(made["revoked"]))
    chain.send(patient, functions.revoke(made["revoked"]))
    ledger = client.application.extensions["pulseledger_gateway"].ledger
    monkeypatch.setattr(ledger, "get_request", lambda *a: (_ for _ in ()).throw(
        AssertionError("a consent's status read from the chain one by one")))

    reply = client.get(f"/patients/{patient.address}/fhir/consents",
                       headers=bearer(sign_in(client, patient)))
    assert reply.status_code == 200, reply.get_json()
    by_request = {int(entry.resource.identifier[0].value.rsplit("/", 1)[-1]): entry.resource
                  for entry in Bundle.model_validate(reply.get_json()).entry}
    assert {name: by_request[request_id].status for name, request_id in made.items()} == {
        "pending": "proposed", "approved": "active", "denied": "rejected", "revoked": "inactive"}
    # a decided request is dated by its last decision's block; a pending one has no date
    assert by_request[made["pending"]].dateTime is None
    assert by_request[made["revoked"]].dateTime is not None
