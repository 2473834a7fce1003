"""Fixtures: one real anvil with PulseLedger (session), a real SQLite record store, the gateway app
with its own account, and a `market` that walks a buyer through consent, payment and logging."""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr

from services.gateway.app import create_app
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.gateway.siwe import build_message
from services.gateway.wiring import chain_identity
from services.notify import NotifySettings
from services.records import RecordsSettings, open_store
from tests.gateway.chain_helpers import Chain, deploy, start_anvil
from tests.gateway.processes import RedisServer
from tests.pulseledger_testkit.records import store_bundle_for_registration

EXPORTS = 2
PRICE = 10**15
CONFIRMATIONS = 2
DOMAIN, URI = "gateway.test", "http://gateway.test"


@pytest.fixture(scope="session")
def anvil_url():
    process, url = start_anvil()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gateway_account():
    return Account.create()


@pytest.fixture(scope="session")
def chain(anvil_url, gateway_account, tmp_path_factory) -> Chain:
    chain = deploy(anvil_url, gateway_account.address, tmp_path_factory.mktemp("chain"))
    chain.w3.provider.make_request("anvil_setBalance", [gateway_account.address, hex(10**21)])
    return chain


@pytest.fixture(scope="session")
def outbox(tmp_path_factory) -> Path:
    """Where the gateway's confirmation emails land (the outbox backend, as in `make up`)."""
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="session")
def settings(chain, gateway_account, outbox) -> GatewaySettings:
    return GatewaySettings(
        notify=NotifySettings(outbox_dir=outbox),
        rpc_url=chain.url, deployments=chain.deployments, confirmations=CONFIRMATIONS,
        gateway_key=SecretStr(gateway_account.key.to_0x_hex()),
        session_secret=SecretStr("test-session-secret"), domain=DOMAIN, uri=URI,
        relay_per_patient=3, relay_per_ip=6, relay_window_s=3600, tx_timeout_s=10,
        sse_heartbeat_s=0.2, sse_max_duration_s=5, max_body_bytes=8 * 1024,
        # Every test signs in from the test client's one address: the per-client budgets are
        # tested on apps of their own (test_abuse.py), not spent here by accident.
        nonces_per_client=1_000_000, sign_ins_per_client=1_000_000,
        requests_per_client=1_000_000, confirmations_per_owner=1_000_000,
        confirmations_per_address=1_000_000)


@pytest.fixture(scope="session")
def ledger(settings) -> Ledger:
    return Ledger(settings)


@pytest.fixture(scope="session")
def store(ledger, tmp_path_factory):
    records = RecordsSettings(
        sqlite_dir=tmp_path_factory.mktemp("records"), master_key_file=None,
        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()), create_master_key=False,
        watch_poll_interval_s=0.05)
    store = open_store(records, chain_identity(ledger))
    yield store
    store.close()


@pytest.fixture(scope="session")
def app(settings, ledger, store):
    return create_app(settings, ledger=ledger, store=store)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def app_with(settings, ledger, store):
    """A gateway app of its own with some settings changed (budgets, bounds), on the same chain
    and store; closed after the test."""
    made = []

    def make(state=None, **overrides):
        made.append(create_app(settings.model_copy(update=overrides), ledger=ledger, store=store,
                               state=state))
        return made[-1]

    yield make
    for app in made:
        app.extensions["pulseledger_gateway"].close()


def sign_in(client, account, environ: dict | None = None) -> str:
    environ = environ or {}
    nonce = client.get("/auth/nonce", environ_base=environ).get_json()["nonce"]
    text = build_message(domain=DOMAIN, address=account.address, uri=URI, chain_id=31337,
                         nonce=nonce, statement="Sign in to PulseLedger.")
    signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    response = client.post("/auth/sign-in", json={"message": text, "signature": signature},
                           environ_base=environ)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Sale:
    patient: object
    buyer: object
    request_id: int
    purchase_id: int | None
    record_id: str
    plaintext: bytes


class Market:
    """Walks one buyer through the on-chain steps, stopping wherever a test wants."""

    def __init__(self, chain: Chain, store, blobs=None):
        self.chain, self.store, self.blobs = chain, store, blobs

    def sale(self, *, pay=True, log_access=True, approve=True, data_class=EXPORTS,
             confirm_blocks=CONFIRMATIONS - 1, valid_for_s=3600) -> Sale:
        chain, ledger = self.chain, self.chain.contract.functions
        patient, buyer = chain.fund(), chain.fund()
        chain.send(patient, ledger.setPrice(data_class, PRICE))
        now = chain.now()
        receipt = chain.send(buyer, ledger.requestConsent(
            patient.address, b"HRESCH".ljust(32, b"\0"), 1 << data_class, now - 60,
            now + valid_for_s, os.urandom(32)))
        request_id = self.chain.contract.events.ConsentRequested().process_receipt(
            receipt)[0]["args"]["requestId"]
        if approve:
            chain.send(patient, ledger.approve(request_id))
        plaintext = b'{"export": "windows 2026-11", "rows": 42}'
        record_id = self.register(patient, data_class, plaintext)
        purchase_id = None
        if pay:
            receipt = chain.send(buyer, ledger.purchase(request_id, data_class, PRICE),
                                 value=PRICE)
            purchase_id = self.chain.contract.events.PurchasePaid().process_receipt(
                receipt)[0]["args"]["purchaseId"]
            if log_access:
                chain.send(buyer, ledger.logAccess(bytes.fromhex(record_id[2:]), purchase_id))
        chain.mine(confirm_blocks)
        return Sale(patient, buyer, request_id, purchase_id, record_id, plaintext)


    def register(self, patient, data_class: int, plaintext: bytes, *, owner: str | None = None) -> str:
        """Store a bundle under the id the chain will derive, then register it; returns the id.
        `owner` other than the patient stores a bundle the registry does not name (a mix-up)."""
        record_id, call = store_bundle_for_registration(
            self.store, self.chain.contract, patient.address, data_class, plaintext, owner=owner,
            blobs=self.blobs)
        self.chain.send(patient, call)
        return record_id


@pytest.fixture(scope="session")
def market(chain, store) -> Market:
    return Market(chain, store)


@pytest.fixture
def gateway_log():
    """The gateway's structured log lines (its logger does not propagate to the root)."""
    lines: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = lines.append
    logger = logging.getLogger("pulseledger.gateway")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


def age_past_recheck(client) -> None:
    """Move the gateway's bundle pieces' clock just past LABEL_PARTS_RECHECK_S (not past
    LABEL_PARTS_S): the next read fetches and authenticates the ciphertext again."""
    parts = client.application.extensions["pulseledger_gateway"].label_parts
    later = parts._clock() + parts._recheck_s + 0.1
    parts._clock = lambda: later


def flip_stored_ciphertext(store, record_id: str) -> None:
    """An attacker with disk access flips one byte of a bundle's stored ciphertext, through a
    connection of its own (not the store's)."""
    with sqlite3.connect(store.db_path) as attacker:
        (sealed,) = attacker.execute("SELECT ciphertext FROM bundles WHERE bundle_id = ?",
                                     (record_id,)).fetchone()
        flipped = bytearray(sealed)
        flipped[20] ^= 0x01
        attacker.execute("UPDATE bundles SET ciphertext = ? WHERE bundle_id = ?",
                         (bytes(flipped), record_id))
