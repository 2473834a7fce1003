"""Fixtures: a real anvil with PulseLedger, a real SQLite record store, a storage custodian that
anchors batches with the peers' own anchoring code, and a patient with anchored windows."""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass

import pytest
from eth_account import Account
from pydantic import SecretStr
from werkzeug.serving import make_server

from services.gateway.app import create_app
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.market.custodian import Custodian
from services.market.settings import MarketSettings
from services.peers.anchoring import Web3BatchAnchor
from services.records import RecordsSettings, merkle, open_store
from services.records.base import ChainIdentity
from services.records.window_payload import build_window_payload, reading
from tests.gateway.chain_helpers import Chain, deploy, free_port, start_anvil

PERIOD_S = 60
PRICE = 10**15
MODEL = "ab" * 32
EXPORTS_PER_HOUR = 3


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Chain:
    process, url = start_anvil()
    gateway = Account.create()
    chain = deploy(url, gateway.address, tmp_path_factory.mktemp("chain"))
    chain.gateway = gateway
    chain.w3.provider.make_request("anvil_setBalance", [gateway.address, hex(10**21)])
    yield chain
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def store(chain, tmp_path_factory):
    settings = RecordsSettings(
        sqlite_dir=tmp_path_factory.mktemp("records"), master_key_file=None,
        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()), create_master_key=False)
    identity = ChainIdentity(chain.w3.eth.chain_id,
                             chain.w3.eth.get_block(0)["hash"].to_0x_hex(),
                             {"PulseLedger": chain.contract.address})
    with open_store(settings, identity) as store:
        yield store


@pytest.fixture(scope="module")
def storage_anchor(chain) -> Web3BatchAnchor:
    """The storage peers' anchoring, as a custodian the owner registered."""
    account = chain.fund()
    chain.send(chain.owner, chain.contract.functions.setCustodian(account.address, True))
    return Web3BatchAnchor(chain.url, chain.contract.address, account.key.to_0x_hex())


@pytest.fixture(scope="module")
def custodian_account(chain):
    return chain.fund()


@dataclass
class Patient:
    account: object
    device_id: str
    record_ids: list
    period_start_ms: int  # the period its windows lie in


def store_windows(store, anchor, owner: str, device_id: str, starts_ms: list[int],
                  anchored: bool = True) -> list[str]:
    """Windows as storage peers write them, then one batch anchored on-chain (or not)."""
    ids = []
    for start in starts_ms:
        payload = build_window_payload(
            device_id, start, 10_000,
            [reading(i, start + i * 1000, 60.0 + i, [1000.0 - i]) for i in range(10)],
            {"status": "regular", "probability": 0.12, "model_sha256": MODEL})
        ids.append(store.put_window(owner, device_id, start, payload).record_id)
    hashes = [store.window_meta(i).ciphertext_sha256 for i in ids]
    root, proofs = merkle.build(hashes)
    tx = anchor.anchor_batch(root, len(ids)) if anchored else None
    store.record_batch(root, ids, proofs, tx)
    return ids


def anchor_now(store, anchor, record_ids: list[str]) -> None:
    """Anchor the batch that `store_windows(..., anchored=False)` built for these windows."""
    root, _ = store.proof_of(record_ids[0])
    store.mark_batch_anchored(root, anchor.anchor_batch(root, len(record_ids)))


@pytest.fixture()
def make_patient(chain, store, storage_anchor, custodian_account):
    def make(*, authorise=True, price_classes=(0,), periods_ago=2, windows=3, anchored=True):
        patient = chain.fund()
        device_id = "12D3KooW" + os.urandom(8).hex()
        store.register_device(device_id, patient.address.lower(), os.urandom(32))
        now_ms = chain.now() * 1000
        start = (now_ms // (PERIOD_S * 1000) - periods_ago) * PERIOD_S * 1000
        ids = store_windows(store, storage_anchor, patient.address.lower(), device_id,
                            [start + i * 10_000 for i in range(windows)], anchored=anchored)
        functions = chain.contract.functions
        if authorise:
            chain.send(patient, functions.authorizeCustodian(custodian_account.address, True))
        for data_class in price_classes:
            chain.send(patient, functions.setPrice(data_class, PRICE))
        return Patient(patient, device_id, ids, start)

    return make


@pytest.fixture()
def custodian(chain, store, custodian_account) -> Custodian:
    settings = MarketSettings(period_s=PERIOD_S, max_anchor_wait_s=3600)
    return Custodian(store, chain.contract, custodian_account, settings,
                     clock=lambda: chain.now() + 0.0)


@pytest.fixture(scope="module")
def gateway_url(chain, store):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = GatewaySettings(
        rpc_url=chain.url, deployments=chain.deployments, confirmations=1,
        gateway_key=SecretStr(chain.gateway.key.to_0x_hex()),
        session_secret=SecretStr("market-test-secret"), domain=f"127.0.0.1:{port}", uri=url,
        tx_timeout_s=10, exports_per_patient=EXPORTS_PER_HOUR)
    app = create_app(settings, ledger=Ledger(settings), store=store)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    app.extensions["pulseledger_gateway"].close()


def bought(chain, patient):
    functions, buyer = chain.contract.functions, chain.fund()
    now = chain.now()
    receipt = chain.send(buyer, functions.requestConsent(
        patient.address, b"HRESCH".ljust(32, b"\0"), 1 << 0, now - 600, now + 3600,
        os.urandom(32)))
    request_id = chain.contract.events.ConsentRequested().process_receipt(
        receipt)[0]["args"]["requestId"]
    chain.send(patient, functions.approve(request_id))
    receipt = chain.send(buyer, functions.purchase(request_id, 0, PRICE), value=PRICE)
    purchase_id = chain.contract.events.PurchasePaid().process_receipt(
        receipt)[0]["args"]["purchaseId"]
    return buyer, purchase_id
