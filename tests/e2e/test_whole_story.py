"""The whole story, as users drive it, on the stack `pulseledger up` builds (same chain start,
deploy-once and component builder; embedded defaults, real local servers: anvil, the gateway under
gunicorn, the peers over libp2p, the listeners, the SQLite record store, aiosmtpd as the mail
server):

patients onboard their wearables through the gateway (the `onboarding` actor), the wearables
stream signed readings (patient 0's rhythm is irregular), the peers store windows, screen them and
mail patient 0 and their doctor an alert; a requester asks patient 0 for access (the `requester`
actor) → the patient approves by EIP-712 signature, relayed by
the gateway → the patient makes an export of their anchored windows (`pulseledger market export`:
the gateway seals it, the patient's wallet registers it) → the requester pays, logs access and
reads it through the gateway, under their purchase's own subject pseudonym → the patient sees the access (events and the gateway's FHIR audit trail) and withdraws
the payment → revokes → the next read is refused → the patient erases the record and its key is
gone. Then no canary value (heart rates, emails, device ids) is anywhere on the chain.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from unittest import mock

import pytest
from pulseledger_testkit.smtp_server import SmtpServer
from web3 import Web3

from services.chain.connection import ledger_contract
from services.chain.eip712 import Decision
from services.gateway.email_confirmations import secrets_in
from services.market.exports import make_export
from services.market.pseudonyms import UNLABELLED
from services.notify.outbox import plain_text
from services.records import RecordErased, RecordsSettings, open_store
from services.records.window_payload import validate_window_payload
from services.stack import demo_people
from services.stack.actors import REQUESTER_EMAIL
from services.stack.components import gateway_url, shared_env
from services.stack.dev_accounts import CUSTODIAN_INDEX, REQUESTER_INDEX, dev_account
from services.stack.gateway_client import GatewayClient
from services.stack.local_stack import Stack
from services.stack.settings import StackSettings
from services.stack.wallet import send
from tests.e2e.canaries import chain_haystacks, leaks

EXPORTS = 2
SEED = "whole-story"
USERS = 3
STREAM_S = 80  # of 1 Hz readings per wearable: 8 windows of 10 s
ALERT_K, ALERT_N = 3, 4


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, smtp):
    mail_and_listeners = {
        "PULSELEDGER_NOTIFY_BACKEND": "smtp", "PULSELEDGER_NOTIFY_SMTP_HOST": "127.0.0.1",
        "PULSELEDGER_NOTIFY_SMTP_PORT": str(smtp.port), "PULSELEDGER_NOTIFY_SMTP_TIMEOUT_S": "5",
        "PULSELEDGER_LISTENERS_CONFIRMATIONS": "1", "PULSELEDGER_LISTENERS_POLL_INTERVAL_S": "0.1",
        # Small deadlines: windows close as soon as the (fast) stream stops; alert on 3 of 4.
        "PULSELEDGER_PEERS_QUIET_FLUSH_S": "1", "PULSELEDGER_PEERS_ANCHOR_INTERVAL_S": "1",
        "PULSELEDGER_ALERTS_K": str(ALERT_K), "PULSELEDGER_ALERTS_N": str(ALERT_N)}
    settings = StackSettings(
        state_dir=tmp_path_factory.mktemp("story") / "state", chain_port=0, gateway_port=0,
        dapp_port=0, proxy_port=0, block_time_s=0, serve_dapp=False, demo_seed=SEED,
        simulate_users=USERS, simulate_irregular_users=1, simulate_fast=True,
        simulate_seconds=STREAM_S, listeners_port=0, peers_port=0, devices_port=0,
        ready_timeout_s=90,
        demo_sale=False,  # this story makes its own sale, step by step (the demo's: test_demo_sale)
        stop_timeout_s=5,
        max_restarts=2)
    with mock.patch.dict(os.environ, mail_and_listeners), Stack(settings) as stack, \
            Inbox(smtp, lambda: GatewayClient(gateway_url(stack.settings, stack.ports))):
        stack.start_chain()
        stack.start_services()
        stack.wait_ready()
        yield stack


class Inbox:
    """The story's people read their mail: each confirmation link the gateway mails (their
    contact addresses, the doctor's) is opened as soon as it arrives, as a person would. With
    SMTP the demo's actors cannot read their mail (they do from `make up`'s outbox)."""

    def __init__(self, smtp, gateway):
        self.smtp, self.gateway, self.stop = smtp, gateway, threading.Event()
        self.opened: set[str] = set()
        self.thread = threading.Thread(target=self._read, name="inbox", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)

    def _read(self) -> None:
        while not self.stop.wait(0.05):
            for item in self.smtp.received:
                for secret in secrets_in(plain_text(item.message)):
                    if secret not in self.opened:
                        self.opened.add(secret)
                        self.gateway().confirm_email(secret)


@pytest.fixture(scope="module")
def story() -> dict:
    return {}


def _store(stack):
    """The record store as the services see it (same environment, same chain namespace)."""
    env = shared_env(stack.settings, stack.chain.endpoint)
    with mock.patch.dict(os.environ, env):
        settings = RecordsSettings()
    return open_store(settings, settings.chain_identity()), env


def mailbox(smtp, address: str) -> list[str]:
    return [item.message["Subject"] for item in smtp.received if address in item.rcpt_tos]


def wait_until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def wait_for_mail(smtp, w3, address: str, subject: str, timeout_s: float = 30.0) -> None:
    """The relay acts on confirmed blocks: the chain moves on (a block per poll) while we wait."""
    deadline = time.monotonic() + timeout_s
    while not any(got.endswith(subject) for got in mailbox(smtp, address)):
        assert time.monotonic() < deadline, f"no {subject!r} for {address}: {mailbox(smtp, address)}"
        w3.provider.make_request("evm_mine", [])
        time.sleep(0.2)


def test_whole_story(stack, story, smtp):
    w3 = Web3(Web3.HTTPProvider(stack.chain.endpoint.rpc_url))
    ledger = ledger_contract(w3, stack.chain.deployments)
    chain_id, contract = w3.eth.chain_id, ledger.address
    gateway = GatewayClient(gateway_url(stack.settings, stack.ports))
    people = demo_people.patients(SEED, USERS)
    patient, requester = people[0].account, dev_account(REQUESTER_INDEX)
    doctor, _ = demo_people.doctor(SEED)
    store, env = _store(stack)
    story.update(w3=w3, emails=[p.email for p in people] + [demo_people.doctor(SEED)[1]])

    # Onboarded through the gateway by the `onboarding` actor: devices, contacts, doctor.
    device_ids = []
    for person in people:
        device = store.get_device(demo_people_device_id(person))
        assert device is not None and device.owner == person.account.address.lower()
        # confirmed by its owner from the link the gateway mailed (Inbox, above)
        owner = person.account.address.lower()
        wait_until(lambda o=owner, e=person.email: store.get_contacts(o) == [e])
        assert store.get_doctor(person.account.address.lower()).address == doctor.address.lower()
        device_ids.append(device.device_id)
    story["device_ids"] = device_ids

    # The wearables streamed; patient 0's (irregular rhythm) alert reaches them and their doctor.
    doctor_email = demo_people.doctor(SEED)[1]
    wait_for_mail(smtp, w3, people[0].email, "irregular rhythm noticed", timeout_s=60)
    wait_for_mail(smtp, w3, doctor_email, "irregular rhythm noticed", timeout_s=10)
    assert not any("irregular" in subject for person in people[1:]
                   for subject in mailbox(smtp, person.email))
    patient_token = gateway.sign_in(patient)
    windows = gateway.get(f"/patients/{patient.address}/windows", patient_token,
                          params={"payload": "true", "limit": 100})
    assert windows.status_code == 200, windows.text
    stored = windows.json()["windows"]
    assert stored and all(w["payload"]["device_id"] == device_ids[0] for w in stored)
    for window in stored:  # the one window record format the dapp reads (docs/records.md)
        validate_window_payload(window["payload"])
    streamed = {r["heartrate"] for w in stored for r in w["payload"]["readings"]}
    story["streamed_heart_rates"] = sorted(rate for rate in streamed if rate != int(rate))[:20]
    # The storage peer anchors the windows' Merkle root as the custodian; an anchored window is
    # served with its proof checked against the chain.
    custodian = dev_account(CUSTODIAN_INDEX).address
    deadline = time.monotonic() + 30
    while not ledger.events.BatchAnchored().get_logs(
            from_block=0, argument_filters={"custodian": custodian}):
        assert time.monotonic() < deadline, "no batch root anchored"
        time.sleep(0.3)
    one = gateway.get(f"/patients/{patient.address}/windows/{stored[0]['record_id']}",
                      patient_token)
    assert one.status_code == 200, one.text
    alerts = gateway.get(f"/patients/{patient.address}/alerts", patient_token)
    assert alerts.status_code == 200 and alerts.json()["alerts"], alerts.text
    doctor_view = gateway.get(f"/patients/{patient.address}/alerts", gateway.sign_in(doctor))
    assert doctor_view.status_code == 200 and doctor_view.json()["alerts"]

    # The `requester` actor asked patient 0; the patient approves by signature, the gateway pays.
    demo_state = json.loads((stack.settings.state_dir / "demo.json").read_text())
    request_id = demo_state[f"request@{contract}"]
    opened = ledger.functions.getRequest(request_id).call()  # (patient, status, ..., requester)
    assert (opened[0], opened[5]) == (patient.address, requester.address)
    assert not ledger.functions.isAllowed(patient.address, requester.address, EXPORTS).call()
    deadline = w3.eth.get_block("latest")["timestamp"] + 600
    relayed = gateway.relay_decision(
        patient, chain_id=chain_id, contract=contract, request_id=request_id,
        decision=Decision.APPROVE, nonce=ledger.functions.nonces(patient.address).call(),
        deadline=deadline)
    assert relayed["tx_hash"]
    assert ledger.functions.isAllowed(patient.address, requester.address, EXPORTS).call()

    # The patient exports their anchored windows as `pulseledger market export` does: the gateway
    # seals them (FHIR + CSV + inclusion proofs), the patient's wallet registers the record.
    starts = [w["window_start_ms"] for w in stored]
    export = make_export(gateway, ledger, patient, min(starts), max(starts) + 10_000)
    assert export.windows and export.tx
    record_id = export.record_id

    # The requester pays exactly the price, logs the access and reads through the gateway.
    price = ledger.functions.priceOf(patient.address, EXPORTS).call()
    assert price > 0
    receipt = send(w3, requester, ledger.functions.purchase(request_id, EXPORTS, price),
                   value=price)
    purchase_id = ledger.events.PurchasePaid().process_receipt(receipt)[0]["args"]["purchaseId"]
    send(w3, requester, ledger.functions.logAccess(bytes.fromhex(record_id[2:]), purchase_id))
    buyer_token = gateway.sign_in(requester)
    read = gateway.read_record(buyer_token, record_id, purchase_id)
    assert read.status_code == 200, read.text
    document = json.loads(read.content)
    assert document["data_class"] == "EXPORTS" and len(document["windows"]) == export.windows
    assert {w["record_id"] for w in document["windows"]} <= {w["record_id"] for w in stored}
    assert document["subject"].startswith("pl-") and document["subject"] != UNLABELLED
    assert device_ids[0] not in read.text and patient.address[2:].lower() not in read.text.lower()
    assert read.headers.get("X-PulseLedger-Delivery-Tx")

    # The patient sees the access: on-chain events and the gateway's audit trail.
    accesses = ledger.events.AccessLogged().get_logs(
        from_block=stack.chain.deployments.deployment_block,
        argument_filters={"patient": patient.address})
    assert [(a["args"]["accessor"], "0x" + a["args"]["recordId"].hex()) for a in accesses] == [
        (requester.address, record_id)]
    audit = gateway.get(f"/patients/{patient.address}/fhir/audit-events", patient_token)
    assert audit.status_code == 200, audit.text
    assert record_id[2:] in audit.text.lower() and requester.address.lower() in audit.text.lower()

    # Delivery confirmed by the gateway credited the patient, who withdraws.
    assert ledger.functions.creditOf(patient.address).call() == price
    before = w3.eth.get_balance(patient.address)
    receipt = send(w3, patient, ledger.functions.withdraw())
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(patient.address) == before + price - gas_paid
    assert ledger.functions.creditOf(patient.address).call() == 0

    # The patient revokes (signed, relayed); further access is refused.
    gateway.relay_decision(
        patient, chain_id=chain_id, contract=contract, request_id=request_id,
        decision=Decision.REVOKE, nonce=ledger.functions.nonces(patient.address).call(),
        deadline=deadline)
    assert not ledger.functions.isAllowed(patient.address, requester.address, EXPORTS).call()
    refused = gateway.read_record(buyer_token, record_id, purchase_id)
    assert refused.status_code == 403 and refused.json()["error"] == "no_consent"

    # The patient erases the record (`pulseledger records erase`): the key is destroyed.
    erased = subprocess.run([sys.executable, "-m", "services", "records", "erase", record_id],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
                            check=False)
    assert erased.returncode == 0, erased.stdout + erased.stderr
    with pytest.raises(RecordErased):
        store.get_bundle(record_id)
    with pytest.raises(RecordErased):
        store.record_key(record_id)
    store.close()

    # The relay mailed each step to whom it concerns, from the contacts set at onboarding.
    patient_email = people[0].email
    for subject in ("New data access request", "Your data was purchased",
                    "Your record was accessed"):
        wait_for_mail(smtp, w3, patient_email, subject)
    wait_for_mail(smtp, w3, REQUESTER_EMAIL, "Your access request was approved")
    story.update(done=True, record_id=record_id,
                 mail=[item.message.as_string() for item in smtp.received])


def demo_people_device_id(person) -> str:
    from services.ingest.device_identity import peer_id_for

    return peer_id_for(person.device_key)


def test_canaries__no_health_value_email_or_device_id_on_chain(stack, story):
    assert story.get("done"), "the story did not complete"
    haystacks = chain_haystacks(story["w3"])
    assert all(haystacks.values())  # there is something to search in each
    assert story["streamed_heart_rates"]
    canaries = story["streamed_heart_rates"] + story["emails"] + story["device_ids"]
    assert leaks(haystacks, canaries) == []
    mail = "\n".join(story["mail"]).lower()
    # a rate as a number of its own, not digits inside an address or a time ("127.0.0.1")
    assert [rate for rate in story["streamed_heart_rates"]
            if re.search(rf"(?<![\d.]){re.escape(repr(rate))}(?![\d.])", mail)] == []
    # The search itself works: the record id is public, and is found in calldata and events.
    found = {where for where, _ in leaks(haystacks, [story["record_id"][2:]])}
    assert {"calldata", "events"} <= found
