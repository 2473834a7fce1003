"""Market benchmark → benchmarks/market.json (flat: metric -> number, unit in the name).

Real parts: an anvil with PulseLedger, a real SQLite store, the gateway app served by a threaded
werkzeug server on 127.0.0.1 (not gunicorn: this measures the market path, bench_gateway.py the
server), the market custodian's own sealing code, `buyer`-side HTTP over keep-alive.

- market_bundle_seal_ms_per_1000_windows: `seal_bundle` over N anchored windows (each read through
  the store's checks, the FHIR/CSV document built and validated, sealed with `put_bundle`),
  scaled to 1,000 windows; the chain's anchor check is answered from memory here.
- market_purchase_to_first_byte_p50_ms / _p99_ms: from sending `purchase` to the first byte of
  the plaintext bundle: purchase mined → logAccess mined and confirmed (the gateway's default
  depth, 1: anvil mines on each transaction) → GET /records/<id> (consent, payment, access log
  and registry read in one RPC batch, hash check, decrypt, confirmDelivery on the first read).
- market_authorised_reads_per_s: sequential authorised reads of one delivered bundle.

`BENCH_MARKET_SIZE=tiny` runs a few of each to check the benchmark works; `BENCH_MARKET_OUT`
writes elsewhere (only `make bench` records benchmarks/market.json, on a quiet machine).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from eth_account import Account
from pydantic import SecretStr
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.gateway.app import create_app
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.gateway.wiring import chain_identity
from services.market.builder import period_windows, seal_bundle
from services.market.bundle_ids import bundle_salt
from services.market.documents import HEART_RATE_WINDOWS
from services.market.registration import register_bundle
from services.records import RecordsSettings, merkle, open_store
from services.records.window_payload import build_window_payload, reading
from services.stack.gateway_client import GatewayClient
from tests.gateway.chain_helpers import deploy, free_port, start_anvil

TINY = os.environ.get("BENCH_MARKET_SIZE") == "tiny"
WINDOWS = 50 if TINY else 1000
PURCHASES = 3 if TINY else 30
READS = 20 if TINY else 500
OUT = Path(os.environ.get("BENCH_MARKET_OUT") or Path(__file__).with_name("market.json"))
PRICE = 10**15


def _windows(store, owner: str, n: int) -> list:
    device, ids = "12D3KooWBenchMarket", []
    for i in range(n):
        start = 10_000 * i
        payload = build_window_payload(device, start, 10_000,
                                       [reading(k, start + 1000 * k, 60.0 + k % 30, [950.0])
                                        for k in range(10)],
                                       {"status": "regular", "probability": 0.1,
                                        "model_sha256": "0" * 64})
        ids.append(store.put_window(owner, device, start, payload).record_id)
    root, proofs = merkle.build([store.window_meta(i).ciphertext_sha256 for i in ids])
    store.record_batch(root, ids, proofs, "0x" + "ab" * 32)
    return period_windows(store, owner, 0, 10_000 * n).anchored


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    process, url = start_anvil()
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
            sign_ins_per_client=10**9)
        ledger = Ledger(settings)
        records = RecordsSettings(sqlite_dir=workdir / "records", master_key_file=None,
                                  master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
                                  create_master_key=False)
        store = open_store(records, chain_identity(ledger))
        figures = {"windows_sealed": WINDOWS, "purchases": PURCHASES,
                   "cpu_cores": os.cpu_count() or 0,
                   "load_average_1m_at_start": round(os.getloadavg()[0], 2)}

        patient = chain.fund()
        owner = patient.address.lower()
        metas = _windows(store, owner, WINDOWS)
        started = time.perf_counter()
        record = seal_bundle(store, owner, HEART_RATE_WINDOWS, (0, 10_000 * WINDOWS), metas,
                             lambda _root: True)
        figures["market_bundle_seal_ms_per_1000_windows"] = round(
            (time.perf_counter() - started) * 1000 * 1000 / WINDOWS, 1)
        functions = chain.contract.functions
        chain.send(patient, functions.authorizeCustodian(patient.address, True))
        # seal_bundle's default id is bundle_id(patient, class, period start): the same salt.
        register_bundle(chain.contract, patient, record, bundle_salt(HEART_RATE_WINDOWS, 0))
        chain.send(patient, functions.setPrice(HEART_RATE_WINDOWS, PRICE))

        app = create_app(settings, ledger=ledger, store=store)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = GatewayClient(f"http://127.0.0.1:{port}")
        latencies, record_id = [], bytes.fromhex(record.bundle_id[2:])
        for _ in range(PURCHASES):
            buyer = chain.fund()
            now = chain.now()
            receipt = chain.send(buyer, functions.requestConsent(
                patient.address, b"bench".ljust(32, b"\0"), 1, now - 60, now + 3600,
                os.urandom(32)))
            request_id = chain.contract.events.ConsentRequested().process_receipt(
                receipt)[0]["args"]["requestId"]
            chain.send(patient, functions.approve(request_id))
            token = client.sign_in(buyer)
            started = time.perf_counter()
            receipt = chain.send(buyer, functions.purchase(request_id, 0, PRICE), value=PRICE)
            purchase_id = chain.contract.events.PurchasePaid().process_receipt(
                receipt)[0]["args"]["purchaseId"]
            chain.send(buyer, functions.logAccess(record_id, purchase_id))
            response = client.session.get(f"{client.base_url}/records/{record.bundle_id}",
                                          params={"purchase_id": purchase_id},
                                          headers={"Authorization": f"Bearer {token}"},
                                          stream=True, timeout=30)
            next(response.iter_content(1))
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            response.close()
        figures["market_purchase_to_first_byte_p50_ms"] = round(statistics.median(latencies), 1)
        figures["market_purchase_to_first_byte_p99_ms"] = round(_percentile(latencies, 0.99), 1)

        started = time.perf_counter()
        for _ in range(READS):
            read = client.session.get(f"{client.base_url}/records/{record.bundle_id}",
                                      params={"purchase_id": purchase_id},
                                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert read.status_code == 200, read.text
        figures["market_authorised_reads_per_s"] = round(READS / (time.perf_counter() - started),
                                                         1)
        figures["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
        server.shutdown()
        store.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    OUT.write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
