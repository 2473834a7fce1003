"""The demo completes a sale by itself, on the stack `pulseledger up` builds (same chain start,
deploy-once, component builder and actors; anvil, the gateway, the peers over libp2p, the market
custodian, the SQLite store): the wearables stream, the storage peer anchors, the custodian seals
and registers every patient's bundles for each priced class; patient 0 approves the requester's
request by signature (relayed), the requester buys the first heart-rate bundle, logs access and
fetches it (decrypted and checked locally), the gateway confirms delivery, patient 0 is credited,
and the status board says so. No test code makes a record: only the production path runs."""

from __future__ import annotations

import json
import os
import time
from unittest import mock

import pytest
from fhir.resources.R4B.bundle import Bundle
from web3 import Web3

from services.chain.connection import ledger_contract
from services.gateway.email_confirmations import secrets_in
from services.gateway.ledger import PURCHASE_DELIVERED
from services.notify.outbox import plain_text, read_outbox
from services.records import Doctor, RecordsSettings, open_store
from services.stack import demo_people
from services.stack.actors import REQUESTER_EMAIL
from services.stack.components import shared_env
from services.stack.dev_accounts import REQUESTER_INDEX, dev_account
from services.stack.local_stack import Stack
from services.stack.settings import StackSettings

SEED = "demo-sale"
USERS = 2
SALE_TIMEOUT_S = 150  # the "about two minutes", with room for a loaded machine


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    fast = {"PULSELEDGER_PEERS_QUIET_FLUSH_S": "1", "PULSELEDGER_PEERS_ANCHOR_INTERVAL_S": "1",
            "PULSELEDGER_MARKET_POLL_INTERVAL_S": "0.5",
            "PULSELEDGER_LISTENERS_POLL_INTERVAL_S": "0.5"}
    settings = StackSettings(
        state_dir=tmp_path_factory.mktemp("sale") / "state", chain_port=0, gateway_port=0,
        dapp_port=0, proxy_port=0, listeners_port=0, peers_port=0, devices_port=0,
        market_port=0, block_time_s=1, serve_dapp=False, demo_seed=SEED, simulate_users=USERS,
        simulate_irregular_users=1, simulate_fast=True, simulate_seconds=90, market_period_s=30,
        ready_timeout_s=90, stop_timeout_s=5, max_restarts=2)
    with mock.patch.dict(os.environ, fast), Stack(settings) as stack:
        stack.start_chain()
        stack.start_services()
        stack.wait_ready()
        yield stack


def test_demo_sale__delivered_and_patient_credited(stack):
    w3 = Web3(Web3.HTTPProvider(stack.chain.endpoint.rpc_url))
    ledger = ledger_contract(w3, stack.chain.deployments)
    state_file = stack.settings.state_dir / "demo.json"
    key = f"sale@{ledger.address}"
    deadline = time.monotonic() + SALE_TIMEOUT_S
    while key not in (state := _state(state_file)):
        assert time.monotonic() < deadline, f"no sale within {SALE_TIMEOUT_S} s: {state}"
        stack.tick()
        time.sleep(0.5)
    sale = state[key]

    patients = demo_people.patients(SEED, USERS)
    patient = patients[0].account
    price = ledger.functions.priceOf(patient.address, 0).call()
    assert ledger.functions.getPurchase(sale["purchase_id"]).call()[3] == PURCHASE_DELIVERED
    assert ledger.functions.creditOf(patient.address).call() == price
    accesses = ledger.events.AccessLogged().get_logs(
        from_block=stack.chain.deployments.deployment_block,
        argument_filters={"patient": patient.address})
    assert ["0x" + a["args"]["recordId"].hex() for a in accesses] == [sale["record_id"]]

    # What the requester saved is FHIR R4 that names no device and no patient address.
    saved = {p.name.split(".", 1)[1]: p for p in (stack.settings.state_dir / "demo-sale").iterdir()}
    document = json.loads(saved["bundle.json"].read_text())
    Bundle.model_validate(document["fhir"])
    text = saved["bundle.json"].read_text().lower()
    assert patient.address[2:].lower() not in text
    assert "heart_rate.csv" in saved and "sealed" in saved

    # Every demo patient has bundles for each class they priced (heart rate, screen results).
    added = ledger.events.RecordAdded().get_logs(from_block=stack.chain.deployments.deployment_block)
    classes = {(e["args"]["patient"], e["args"]["dataClass"]) for e in added}
    deadline = time.monotonic() + 30
    while not {(p.account.address, c) for p in patients for c in (0, 1)} <= classes:
        assert time.monotonic() < deadline, f"bundles missing: {classes}"
        time.sleep(1)
        added = ledger.events.RecordAdded().get_logs(
            from_block=stack.chain.deployments.deployment_block)
        classes = {(e["args"]["patient"], e["args"]["dataClass"]) for e in added}

    # The status board counts the sale, its delivery and the patient's earnings.
    stack.tick()
    market = stack.board.status.market
    assert (market["sales"], market["deliveries"], market["earnings_wei"]) == (1, 1, price)
    assert market["records"] >= 2 * USERS


def test_demo_people_confirmed_their_addresses_from_the_outbox(stack):
    """`make up`'s embedded mail is the outbox folder: the demo's people open the confirmation
    links the gateway mailed there, so their alerts have somewhere to go."""
    env = shared_env(stack.settings, stack.chain.endpoint)
    with mock.patch.dict(os.environ, env):
        records = RecordsSettings()
    doctor, doctor_email = demo_people.doctor(SEED)
    with open_store(records, records.chain_identity()) as store:
        for person in demo_people.patients(SEED, USERS):
            owner = person.account.address.lower()
            assert store.get_contacts(owner) == [person.email]
            assert store.get_doctor(owner) == Doctor(doctor.address.lower(), doctor_email)
            assert store.pending_emails(owner, 0) == []
        assert store.get_contacts(dev_account(REQUESTER_INDEX).address.lower()) == [
            REQUESTER_EMAIL]
    links = [secrets_in(plain_text(m)) for m in read_outbox(stack.settings.outbox_dir,
                                                            to={doctor_email})]
    assert sum(map(len, links)) == USERS, "one confirmation link per patient naming the doctor"


def _state(path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
