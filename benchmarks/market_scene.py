"""The market benchmark's scene, shared by bench_market.py and profile_market_read.py: an anvil
with PulseLedger, a real SQLite store, one patient's anchored windows sealed as a large bundle
(`windows` windows) and a small one (one window), both registered and priced, and buyers who
purchase and log access to both.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from pydantic import SecretStr

from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.gateway.wiring import chain_identity
from services.market.builder import period_windows, seal_bundle
from services.market.bundle_ids import bundle_salt
from services.market.documents import HEART_RATE_WINDOWS
from services.market.registration import register_bundle
from services.records import RecordsSettings, SellableRecord, merkle, open_store
from services.records.window_payload import build_window_payload, reading
from tests.gateway.chain_helpers import Chain, deploy, free_port, start_anvil

PRICE = 10**15
WINDOW_MS = 10_000


@dataclass
class Purchase:
    buyer: object  # eth_account LocalAccount
    purchase_id: int


@dataclass
class Scene:
    anvil: object  # subprocess.Popen
    workdir: Path
    chain: Chain
    gateway_account: object
    settings: GatewaySettings
    ledger: Ledger
    store: object
    records: RecordsSettings
    patient: object
    large: SellableRecord
    small: SellableRecord
    seal_ms_per_1000_windows: float
    large_plaintext_bytes: int
    small_plaintext_bytes: int

    def close(self) -> None:
        self.store.close()
        self.anvil.terminate()
        self.anvil.wait(timeout=10)

    def buy(self, *, log_access: tuple[SellableRecord, ...] | None = None,
            before_purchase=None) -> tuple[Purchase, float]:
        """A new buyer: consent requested and approved, `before_purchase(buyer)` (e.g. sign-in),
        then purchase and logAccess for `log_access` (default: both bundles); returns the
        purchase and when the purchase was sent (perf_counter), for purchase → first byte."""
        chain, functions = self.chain, self.chain.contract.functions
        buyer, now = chain.fund(), chain.now()
        receipt = chain.send(buyer, functions.requestConsent(
            self.patient.address, b"bench".ljust(32, b"\0"), 1 << HEART_RATE_WINDOWS, now - 60,
            now + 3600, os.urandom(32)))
        request_id = chain.contract.events.ConsentRequested().process_receipt(
            receipt)[0]["args"]["requestId"]
        chain.send(self.patient, functions.approve(request_id))
        if before_purchase is not None:
            before_purchase(buyer)
        started = time.perf_counter()
        receipt = chain.send(buyer, functions.purchase(request_id, HEART_RATE_WINDOWS, PRICE),
                             value=PRICE)
        purchase_id = chain.contract.events.PurchasePaid().process_receipt(
            receipt)[0]["args"]["purchaseId"]
        for record in (self.large, self.small) if log_access is None else log_access:
            chain.send(buyer, functions.logAccess(bytes.fromhex(record.bundle_id[2:]),
                                                  purchase_id))
        return Purchase(buyer, purchase_id), started


def _windows(store, owner: str, start_ms: int, n: int) -> list:
    device, ids = "12D3KooWBenchMarket", []
    for i in range(n):
        start = start_ms + WINDOW_MS * i
        payload = build_window_payload(device, start, WINDOW_MS,
                                       [reading(k, start + 1000 * k, 60.0 + k % 30, [950.0])
                                        for k in range(10)],
                                       {"status": "regular", "probability": 0.1,
                                        "model_sha256": "0" * 64})
        ids.append(store.put_window(owner, device, start, payload).record_id)
    root, proofs = merkle.build([store.window_meta(i).ciphertext_sha256 for i in ids])
    store.record_batch(root, ids, proofs, "0x" + "ab" * 32)
    return period_windows(store, owner, start_ms, start_ms + WINDOW_MS * n).anchored


def _seal_and_register(scene_chain: Chain, store, patient, start_ms: int, n: int):
    owner = patient.address.lower()
    metas = _windows(store, owner, start_ms, n)
    started = time.perf_counter()
    record = seal_bundle(store, owner, HEART_RATE_WINDOWS, (start_ms, start_ms + WINDOW_MS * n),
                         metas, lambda _root: True)
    elapsed = time.perf_counter() - started
    # seal_bundle's default id is bundle_id(patient, class, period start): the same salt.
    register_bundle(scene_chain.contract, patient, record, bundle_salt(HEART_RATE_WINDOWS, start_ms))
    return record, elapsed


def build_scene(windows: int, **gateway_settings) -> Scene:
    anvil, url = start_anvil()
    workdir = Path(tempfile.mkdtemp(prefix="bench-market-"))
    try:
        gateway = Account.create()
        chain = deploy(url, gateway.address, workdir)
        chain.w3.provider.make_request("anvil_setBalance", [gateway.address, hex(10**21)])
        port = free_port()
        settings = GatewaySettings(
            rpc_url=url, deployments=chain.deployments,
            gateway_key=SecretStr(gateway.key.to_0x_hex()),
            session_secret=SecretStr("bench"), domain=f"127.0.0.1:{port}",
            uri=f"http://127.0.0.1:{port}", requests_per_client=10**9, nonces_per_client=10**9,
            sign_ins_per_client=10**9, port=port, **gateway_settings)
        ledger = Ledger(settings)
        records = RecordsSettings(sqlite_dir=workdir / "records", master_key_file=None,
                                  master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
                                  create_master_key=False)
        store = open_store(records, chain_identity(ledger))
        patient = chain.fund()
        functions = chain.contract.functions
        chain.send(patient, functions.authorizeCustodian(patient.address, True))
        large, seal_s = _seal_and_register(chain, store, patient, 0, windows)
        small, _ = _seal_and_register(chain, store, patient, WINDOW_MS * windows, 1)
        chain.send(patient, functions.setPrice(HEART_RATE_WINDOWS, PRICE))
    except BaseException:
        anvil.terminate()
        raise
    return Scene(anvil, workdir, chain, gateway, settings, ledger, store, records, patient,
                 large, small, round(seal_s * 1000 * 1000 / windows, 1),
                 len(store.get_bundle(large.bundle_id)), len(store.get_bundle(small.bundle_id)))
