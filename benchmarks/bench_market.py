"""Market benchmark → benchmarks/market.json (flat: metric -> number, unit in the name).

Real parts (market_scene.py): an anvil with PulseLedger, a real SQLite store, one patient's
anchored windows sealed by the market custodian's own code as a large bundle (1,000 windows,
~2.7 MB of FHIR + CSV) and a small one (one window, ~2.6 kB), both registered and priced.

- market_bundle_seal_ms_per_1000_windows: `seal_bundle` over N anchored windows (each read through
  the store's checks, the FHIR/CSV document built and validated, sealed with `put_bundle`),
  scaled to 1,000 windows; the chain's anchor check is answered from memory here.
- market_purchase_to_first_byte_p50_ms / _p99_ms: from sending `purchase` to the first byte of
  the plaintext bundle: purchase mined → logAccess mined and confirmed (the gateway's default
  depth, 1: anvil mines on each transaction) → GET /records/<id> (the chain read at the latest
  block, hash check, decrypt, confirmDelivery on the first read). The gateway app in this
  process behind a threaded werkzeug server, one client.
- market_authorised_reads_per_s (large) / market_small_record_reads_per_s: sequential
  authorised reads of one delivered bundle, same server, one client. The small record shows what
  authorising a read costs apart from moving megabytes.
- market_served_reads_per_s_<size>_<N>_clients: the gateway as production serves it —
  `pulseledger gateway` in its own process (uvicorn in front, the app in its thread pools,
  docs/gateway.md) — read by N concurrent keep-alive connections for SERVED_S seconds from a
  load generator in another process (loadgen.py); `_failed` counts answers other than 200.

- market_served_gateway_cpu_ms_per_read_<size>_<N>_clients: the gateway process's CPU time
  (user + system) during that run divided by the reads it served: what one read costs the
  server, which steal moves far less than the rate.

- market_served_cpu_steal_share: the share of the machine's CPU time the hypervisor gave to other
  guests during the served phase (cpu_steal.py): at a third, the served figures move by tens of
  percent between runs with nothing changed.

`BENCH_MARKET_SIZE=tiny` runs a few of each to check the benchmark works; `BENCH_MARKET_OUT`
writes elsewhere (only `make bench` records benchmarks/market.json, on a quiet machine).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from cpu_steal import StealMeter, process_cpu_s
from market_scene import Scene, build_scene

from services.gateway.app import create_app
from services.stack.gateway_client import GatewayClient
from tests.gateway.processes import GatewayProcess, gateway_env

TINY = os.environ.get("BENCH_MARKET_SIZE") == "tiny"
WINDOWS = 50 if TINY else 1000
PURCHASES = 3 if TINY else 30
READS = 20 if TINY else 500
SERVED_CLIENTS = (1, 8)
SERVED_S = 2.0 if TINY else 15.0
OUT = Path(os.environ.get("BENCH_MARKET_OUT") or Path(__file__).with_name("market.json"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _sequential_reads(client: GatewayClient, record, purchase_id: int, token: str) -> float:
    started = time.perf_counter()
    for _ in range(READS):
        read = client.get(f"/records/{record.bundle_id}?purchase_id={purchase_id}", token)
        assert read.status_code == 200, read.text
    return round(READS / (time.perf_counter() - started), 1)


def in_process(scene: Scene) -> dict[str, float]:
    """Purchase → first byte and sequential reads, the app behind a threaded werkzeug server."""
    app = create_app(scene.settings, ledger=scene.ledger, store=scene.store)
    server = make_server("127.0.0.1", scene.settings.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client, figures, latencies = GatewayClient(f"http://127.0.0.1:{scene.settings.port}"), {}, []
    try:
        tokens: dict[str, str] = {}
        for _ in range(PURCHASES):
            purchase, started = scene.buy(
                log_access=(scene.large,),
                before_purchase=lambda buyer: tokens.__setitem__(buyer.address,
                                                                 client.sign_in(buyer)))
            response = client.session.get(
                f"{client.base_url}/records/{scene.large.bundle_id}",
                params={"purchase_id": purchase.purchase_id}, stream=True, timeout=30,
                headers={"Authorization": f"Bearer {tokens[purchase.buyer.address]}"})
            next(response.iter_content(1))
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            response.close()
        figures["market_purchase_to_first_byte_p50_ms"] = round(statistics.median(latencies), 1)
        figures["market_purchase_to_first_byte_p99_ms"] = round(_percentile(latencies, 0.99), 1)
        purchase, _ = scene.buy()
        token = client.sign_in(purchase.buyer)
        for record in (scene.large, scene.small):  # delivered (confirmDelivery) before timing
            first = client.get(f"/records/{record.bundle_id}?purchase_id={purchase.purchase_id}",
                               token)
            assert first.status_code == 200, first.text
        figures["market_authorised_reads_per_s"] = _sequential_reads(
            client, scene.large, purchase.purchase_id, token)
        figures["market_small_record_reads_per_s"] = _sequential_reads(
            client, scene.small, purchase.purchase_id, token)
    finally:
        server.shutdown()
    return figures


def served(scene: Scene) -> dict[str, float]:
    """Reads from `pulseledger gateway` in its own process, N concurrent connections."""
    env = gateway_env(scene.chain, scene.gateway_account, scene.records.sqlite_dir,
                      scene.records.master_key.get_secret_value(),
                      session_secret="bench-served", requests_per_client=10**9,
                      nonces_per_client=10**9, sign_ins_per_client=10**9,
                      per_client_in_flight=10**6)
    gateway = GatewayProcess(env).wait_healthy()
    figures: dict[str, float] = {}
    try:
        client = GatewayClient(gateway.url, timeout_s=30)
        purchase, _ = scene.buy()
        token = client.sign_in(purchase.buyer)
        for size, record in (("large", scene.large), ("small", scene.small)):
            url = f"{gateway.url}/records/{record.bundle_id}?purchase_id={purchase.purchase_id}"
            first = client.get(url.removeprefix(gateway.url), token)
            assert first.status_code == 200, first.text
            for clients in SERVED_CLIENTS:
                cpu_before = process_cpu_s(gateway.process.pid)
                result = json.loads(subprocess.run(
                    [sys.executable, str(REPO / "benchmarks" / "loadgen.py"), "reads", url,
                     token, str(clients), str(SERVED_S)],
                    check=True, capture_output=True, text=True).stdout)
                cpu_after = process_cpu_s(gateway.process.pid)
                name = f"market_served_reads_per_s_{size}_{clients}_clients"
                figures[name] = round(result["ok"] / result["seconds"], 1)
                figures[f"{name}_failed"] = result["failed"]
                if cpu_before is not None and cpu_after is not None and result["ok"]:
                    figures[f"market_served_gateway_cpu_ms_per_read_{size}_{clients}_clients"] = \
                        round((cpu_after - cpu_before) * 1000 / result["ok"], 2)
    finally:
        gateway.stop()
    return figures


def main() -> None:
    scene = build_scene(WINDOWS)
    try:
        figures = {"windows_sealed": WINDOWS, "purchases": PURCHASES,
                   "cpu_cores": os.cpu_count() or 0,
                   "load_average_1m_at_start": round(os.getloadavg()[0], 2),
                   "market_bundle_seal_ms_per_1000_windows": scene.seal_ms_per_1000_windows,
                   "market_large_bundle_bytes": scene.large_plaintext_bytes,
                   "market_small_bundle_bytes": scene.small_plaintext_bytes}
        figures.update(in_process(scene))
        with StealMeter() as steal:
            figures.update(served(scene))
        figures["market_served_cpu_steal_share"] = steal.share
        figures["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    finally:
        scene.close()
    OUT.write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
