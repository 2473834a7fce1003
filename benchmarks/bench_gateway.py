"""Gateway benchmark → benchmarks/gateway.json (flat: metric -> number, unit in the name).

A real anvil with PulseLedger, a real SQLite store, `pulseledger gateway` in its own process (the
real server: serving.py), clients over keep-alive HTTP on 127.0.0.1.

1. Capacity, quiet (a gateway with budgets out of the way): one client's sequential authorised
   reads — the whole buyer path: session, registry + consent + purchase reads, AccessLogged with
   confirmations, ciphertext hash against the registry, decryption — refused reads, sign-ins.
2. Abuse (a gateway on its default settings): one abusive client at full speed in its own process
   from its own loopback address (benchmarks/abuse_loadgen.py: 16 held streams, a nonce flood,
   garbage sign-ins, nested JSON, reads as fast as answered) and, beside it, an honest client that
   signs in every 2 s and reads its record 10 times a second. The same honest client first runs
   for the same time with no abuse, for comparison.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.gateway.siwe import build_message
from services.gateway.wiring import chain_identity
from services.records import RecordsSettings, open_store
from tests.gateway.chain_helpers import deploy, start_anvil
from tests.gateway.conftest import Market
from tests.gateway.processes import GatewayProcess, gateway_env, new_master_key

READS, SIGN_INS = 300, 100
DOMAIN, URI = "bench.local", "http://bench.local"
ABUSE_S, ABUSE_CONNECTIONS, ABUSER_ADDRESS = 20.0, 32, "127.0.0.66"
HONEST_READS_PER_S, HONEST_SIGN_IN_EVERY_S = 10, 2.0
UNBUDGETED = {"nonces_per_client": 10**9, "sign_ins_per_client": 10**9,
              "requests_per_client": 10**9, "per_client_in_flight": 10**6}


class Client:
    def __init__(self, base: str, chain_id: int):
        self.base, self.chain_id, self.http = base, chain_id, requests.Session()

    def sign_in(self, account) -> requests.Response:
        nonce = self.http.get(f"{self.base}/auth/nonce", timeout=30)
        if nonce.status_code != 200:
            return nonce
        text = build_message(domain=DOMAIN, address=account.address, uri=URI,
                             chain_id=self.chain_id, nonce=nonce.json()["nonce"])
        signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        return self.http.post(f"{self.base}/auth/sign-in", timeout=30,
                              json={"message": text, "signature": signature})

    def token(self, account) -> str:
        response = self.sign_in(account)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def get(self, path: str, token: str) -> requests.Response:
        return self.http.get(self.base + path, headers={"Authorization": f"Bearer {token}"},
                             timeout=30)


def _timed(fn, count: int) -> tuple[float, float, float]:
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return count / elapsed, statistics.median(latencies), _p99(latencies)


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def capacity(client: Client, sale, chain) -> dict:
    buyer = client.token(sale.buyer)
    read_path = f"/records/{sale.record_id}?purchase_id={sale.purchase_id}"
    first = client.get(read_path, buyer)  # confirms delivery (a transaction)
    assert first.status_code == 200 and first.content == sale.plaintext, first.text
    stranger = client.token(chain.fund())

    def read():
        assert client.get(read_path, buyer).status_code == 200

    def refused():
        assert client.get(read_path, stranger).status_code == 403

    reads, read_p50, read_p99 = _timed(read, READS)
    refusals, refused_p50, _ = _timed(refused, READS // 3)
    sign_ins, sign_in_p50, _ = _timed(lambda: client.token(sale.buyer), SIGN_INS)
    return {"gateway_authorised_read_per_s": round(reads, 1),
            "gateway_authorised_read_p50_ms": round(read_p50, 2),
            "gateway_authorised_read_p99_ms": round(read_p99, 2),
            "gateway_refused_read_per_s": round(refusals, 1),
            "gateway_refused_read_p50_ms": round(refused_p50, 2),
            "gateway_sign_in_per_s": round(sign_ins, 1),
            "gateway_sign_in_p50_ms": round(sign_in_p50, 2)}


def honest_client(client: Client, sale, seconds: float) -> dict:
    """Paced like a person's dapp or a buyer's program: sign in every 2 s, read 10 times/s."""
    read_path = f"/records/{sale.record_id}?purchase_id={sale.purchase_id}"
    sign_in_ms, read_ms, outcomes = [], [], []
    token, next_sign_in = None, 0.0
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        now = time.perf_counter()
        if now >= next_sign_in:
            t0 = time.perf_counter()
            response = client.sign_in(sale.buyer)
            sign_in_ms.append((time.perf_counter() - t0) * 1000)
            outcomes.append(response.status_code)
            token = response.json()["token"] if response.status_code == 200 else token
            next_sign_in = now + HONEST_SIGN_IN_EVERY_S
        if token:
            t0 = time.perf_counter()
            response = client.get(read_path, token)
            read_ms.append((time.perf_counter() - t0) * 1000)
            outcomes.append(response.status_code)
        time.sleep(max(0.0, 1 / HONEST_READS_PER_S - (time.perf_counter() - now)))
    return {"requests": len(outcomes), "ok": outcomes.count(200),
            "sign_in_p50_ms": statistics.median(sign_in_ms), "sign_in_p99_ms": _p99(sign_in_ms),
            "read_p50_ms": statistics.median(read_ms), "read_p99_ms": _p99(read_ms)}


def start_abuser(base: str, client: Client, chain) -> subprocess.Popen:
    """A new wallet (no onboarding needed) signs in, then abuses from its own address."""
    abuser = chain.fund()
    token = client.token(abuser)
    return subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "abuse_loadgen.py"), base, ABUSER_ADDRESS,
         str(ABUSE_S), str(ABUSE_CONNECTIONS), token, abuser.address],
        stdout=subprocess.PIPE, text=True)


def main() -> None:
    anvil, url = start_anvil()
    figures: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(url, Path(tmp))
    finally:
        anvil.terminate()
        anvil.wait(timeout=10)
    out = Path(__file__).with_name("gateway.json")
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def run(url: str, tmp: Path) -> dict[str, float]:
    gateway_account = Account.create()
    chain = deploy(url, gateway_account.address, tmp)
    chain.w3.provider.make_request("anvil_setBalance", [gateway_account.address, hex(10**21)])
    master_key, records = new_master_key(), tmp / "records"
    settings = GatewaySettings(rpc_url=url, deployments=chain.deployments)
    store = open_store(RecordsSettings(sqlite_dir=records, master_key_file=None,
                                       create_master_key=False,
                                       master_key=SecretStr(master_key)),
                       chain_identity(Ledger(settings)))
    sale = Market(chain, store).sale()
    common = {"domain": DOMAIN, "uri": URI, "confirmations": 2, "session_secret": "bench"}

    figures: dict[str, float] = {}
    quiet = GatewayProcess(gateway_env(chain, gateway_account, records, master_key,
                                       **common, **UNBUDGETED)).wait_healthy()
    try:
        figures.update(capacity(Client(quiet.url, chain.w3.eth.chain_id), sale, chain))
    finally:
        quiet.stop()

    gateway = GatewayProcess(gateway_env(chain, gateway_account, records, master_key,
                                         **common)).wait_healthy()
    try:
        client = Client(gateway.url, chain.w3.eth.chain_id)
        alone = honest_client(client, sale, ABUSE_S - 4)
        abuser = start_abuser(gateway.url, client, chain)
        time.sleep(2)  # the abuse is at full speed before the honest client starts
        beside = honest_client(client, sale, ABUSE_S - 4)
        abused = json.loads(abuser.communicate(timeout=ABUSE_S + 120)[0])
    finally:
        gateway.stop()
    store.close()

    counts = abused["counts"]  # "<kind> <status>" -> requests
    total = sum(counts.values())
    status = {key: key.split()[-1] for key in counts}
    refused = sum(n for key, n in counts.items() if status[key] != "200")
    limited = sum(n for key, n in counts.items() if status[key] in ("429", "503"))
    figures.update({
        "gateway_honest_success_rate_quiet": round(alone["ok"] / alone["requests"], 4),
        "gateway_honest_sign_in_p50_ms_quiet": round(alone["sign_in_p50_ms"], 2),
        "gateway_honest_read_p50_ms_quiet": round(alone["read_p50_ms"], 2),
        "gateway_honest_read_p99_ms_quiet": round(alone["read_p99_ms"], 2),
        "gateway_honest_success_rate_under_abuse": round(beside["ok"] / beside["requests"], 4),
        "gateway_honest_requests_under_abuse": beside["requests"],
        "gateway_honest_sign_in_p50_ms_under_abuse": round(beside["sign_in_p50_ms"], 2),
        "gateway_honest_sign_in_p99_ms_under_abuse": round(beside["sign_in_p99_ms"], 2),
        "gateway_honest_read_p50_ms_under_abuse": round(beside["read_p50_ms"], 2),
        "gateway_honest_read_p99_ms_under_abuse": round(beside["read_p99_ms"], 2),
        "gateway_abusive_requests": total,
        "gateway_abusive_requests_per_s": round(total / abused["seconds"], 1),
        "gateway_abusive_refused": refused,
        "gateway_abusive_refused_share": round(refused / total, 4) if total else 0.0,
        "gateway_abusive_rate_limited_429_503": limited,
        "gateway_abusive_streams_held": counts.get("live 200", 0),
        "gateway_abusive_streams_refused": sum(n for key, n in counts.items()
                                               if key.startswith("live ") and key != "live 200"),
    })
    print(json.dumps(counts, indent=2, sort_keys=True), file=sys.stderr)
    return figures


if __name__ == "__main__":
    os.environ["PATH"] = (f"{REPO}/node_modules/@foundry-rs/anvil-linux-amd64/bin:"
                          f"{os.environ.get('PATH', '')}")
    main()
