"""Gateway throughput on one machine: a real anvil with PulseLedger, a real SQLite store, the
gateway served by a threaded WSGI server on 127.0.0.1, one client over keep-alive HTTP.

Writes benchmarks/gateway.json (flat: metric -> number, unit in the name). An authorised read is
the whole buyer path: session check, registry + consent + purchase reads, AccessLogged lookup with
confirmations, ciphertext hash check against the registry, decryption.
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

import requests
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.gateway.app import create_app
from services.gateway.chain import Ledger
from services.gateway.observability import LOGGER_NAME
from services.gateway.settings import GatewaySettings
from services.gateway.siwe import build_message
from services.gateway.wiring import chain_identity
from services.records import RecordsSettings, open_store
from tests.gateway.chain_helpers import deploy, free_port, start_anvil
from tests.gateway.conftest import Market

READS = 300
SIGN_INS = 100
DOMAIN, URI = "bench.local", "http://bench.local"


def _timed(fn, count):
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return count / elapsed, statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def main() -> None:
    import logging

    logging.getLogger(LOGGER_NAME).disabled = True  # measure the gateway, not stderr
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("PATH", "")
    os.environ["PATH"] = f"{REPO}/node_modules/@foundry-rs/anvil-linux-amd64/bin:{os.environ['PATH']}"
    anvil, url = start_anvil()
    server = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            gateway_account = Account.create()
            chain = deploy(url, gateway_account.address, Path(tmp))
            chain.w3.provider.make_request("anvil_setBalance",
                                           [gateway_account.address, hex(10**21)])
            settings = GatewaySettings(
                rpc_url=url, deployments=chain.deployments, confirmations=2,
                gateway_key=SecretStr(gateway_account.key.to_0x_hex()), domain=DOMAIN, uri=URI,
                session_secret=SecretStr("bench"))
            ledger = Ledger(settings)
            store = open_store(RecordsSettings(
                sqlite_dir=Path(tmp) / "records", master_key_file=None, create_master_key=False,
                master_key=SecretStr(base64.b64encode(os.urandom(32)).decode())),
                chain_identity(ledger))
            app = create_app(settings, ledger=ledger, store=store)
            port = free_port()
            server = make_server("127.0.0.1", port, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            http = requests.Session()

            sale = Market(chain, store).sale()

            def sign_in(account=sale.buyer) -> str:
                nonce = http.get(f"{base}/auth/nonce").json()["nonce"]
                text = build_message(domain=DOMAIN, address=account.address, uri=URI,
                                     chain_id=chain.w3.eth.chain_id, nonce=nonce)
                signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
                response = http.post(f"{base}/auth/sign-in",
                                     json={"message": text, "signature": signature})
                assert response.status_code == 200, response.text
                return response.json()["token"]

            headers = {"Authorization": f"Bearer {sign_in()}"}
            read_url = f"{base}/records/{sale.record_id}?purchase_id={sale.purchase_id}"
            first = http.get(read_url, headers=headers)  # confirms delivery (a transaction)
            assert first.status_code == 200 and first.content == sale.plaintext, first.text

            def read() -> None:
                response = http.get(read_url, headers=headers)
                assert response.status_code == 200

            def refused() -> None:
                response = http.get(read_url, headers=stranger)
                assert response.status_code == 403

            stranger = {"Authorization": f"Bearer {sign_in(chain.fund())}"}
            reads_per_s, read_p50, read_p99 = _timed(read, READS)
            refused_per_s, refused_p50, _ = _timed(refused, READS // 3)
            sign_in_per_s, sign_in_p50, _ = _timed(sign_in, SIGN_INS)
            store.close()
    finally:
        if server is not None:
            server.shutdown()
        anvil.terminate()
        anvil.wait(timeout=10)

    figures = {
        "gateway_authorised_read_per_s": round(reads_per_s, 1),
        "gateway_authorised_read_p50_ms": round(read_p50, 2),
        "gateway_authorised_read_p99_ms": round(read_p99, 2),
        "gateway_refused_read_per_s": round(refused_per_s, 1),
        "gateway_refused_read_p50_ms": round(refused_p50, 2),
        "gateway_sign_in_per_s": round(sign_in_per_s, 1),
        "gateway_sign_in_p50_ms": round(sign_in_p50, 2),
    }
    out = Path(__file__).with_name("gateway.json")
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
