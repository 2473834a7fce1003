"""Device endpoint throughput: the real server (`pulseledger devices serve`, gunicorn, its own
process) over the real local queue and SQLite record store, loaded by a client in another process
over keep-alive HTTP/1.1 connections, with messages signed beforehand (a device signs its own; we
measure the endpoint, not the signing).

For each kind of message — one reading, batches of 10 and 60, 60 Open mHealth data points, a FHIR
Bundle of 60 Observations — CONNECTIONS clients post for SECONDS: accepted readings a second and
the latency of one message (p50, p99). Budgets and backpressure are set out of the way (the load
comes from one address, and no master drains the queue).

Writes benchmarks/device_ingest.json (flat: metric -> number, unit in the name). Timing figures
depend on what else runs on the machine: `load_average_1m` records how busy it was.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SECONDS = 6.0
CONNECTIONS = 16
DEVICES = 40
KINDS = {"single": ("batch", 1), "batch10": ("batch", 10), "batch60": ("batch", 60),
         "omh60": ("omh", 60), "fhir60": ("fhir", 60)}
MESSAGES_PER_S = {1: 3000, 10: 1500, 60: 250}  # more than the endpoint takes on 2 cores
ROOMY = {"client_requests_per_s": 1e9, "client_request_burst": 10**9,
         "device_readings_per_s": 1e9, "device_reading_burst": 10**9,
         "max_queue_depth": 10**9, "depth_refresh_s": 5}


# ------------------------------------------------------------------------------ load (child)
async def _post(url_host: str, port: int, bodies: list[bytes], deadline: float,
                latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(url_host, port)
    for body in bodies:
        if time.perf_counter() >= deadline:
            break
        request = (f"POST /v1/readings HTTP/1.1\r\nHost: {url_host}:{port}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                   ).encode() + body
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lower = head.lower()
        at = lower.find(b"content-length:")
        await reader.readexactly(int(lower[at + 15:].split(b"\r\n", 1)[0]))
        latencies.append((time.perf_counter() - started) * 1000)
        status = int(head[9:12])
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def _load(port: int, messages_file: Path) -> dict:
    bodies = [line.encode() for line in messages_file.read_text().splitlines()]
    shares = [bodies[i::CONNECTIONS] for i in range(CONNECTIONS)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(_post("127.0.0.1", port, share, started + SECONDS, latencies,
                                 statuses) for share in shares))
    return {"elapsed_s": time.perf_counter() - started, "latencies_ms": latencies,
            "statuses": statuses}


# ------------------------------------------------------------------------------ bench (parent)
def _messages(kind: str, size: int, keys, start_ms: int, count: int) -> list[bytes]:
    from services.ingest.reading import Reading, sign_batch
    from tests.ingest.format_examples import (
        envelope,
        fhir_bundle,
        fhir_observation,
        omh_rr_interval,
    )

    out, seqs = [], dict.fromkeys(range(len(keys)), 0)
    for index in range(count):
        device = index % len(keys)
        key = keys[device]
        first = seqs[device]
        seqs[device] += size
        times = [start_ms + (first + i) * 50 for i in range(size)]  # 20 Hz: an hour holds them
        if kind == "batch":
            out.append(sign_batch(key, [Reading(key.user_id, 70.0, t, first + i + 1, (850, 860),
                                                "rr") for i, t in enumerate(times)]))
        elif kind == "omh":
            out.append(envelope("omh", [omh_rr_interval(key.user_id, t, 850) for t in times],
                                key))
        else:
            out.append(envelope("fhir", fhir_bundle([fhir_observation(key.user_id, t, 72,
                                                                      rr=(850,))
                                                     for t in times], "batch"), key))
    return out


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--load":
        print(json.dumps(asyncio.run(_load(int(sys.argv[2]), Path(sys.argv[3])))))
        return
    from tests.device_ingest.server import IngestServer

    results: dict[str, float] = {"load_average_1m": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="bench-device-ingest-") as tmp:
        data_dir = Path(tmp)
        server = IngestServer(data_dir, **ROOMY)  # the real server, in its own process
        port = server.port
        keys = [server.device(bytes([i + 1]) * 32) for i in range(DEVICES)]
        try:
            start_ms = int(time.time() * 1000) - 3_600_000
            # warm up (threads, caches, the first SQLite pages) on messages not counted
            warm = data_dir / "warm.jsonl"
            warm.write_text("\n".join(m.decode() for m in _messages(
                "batch", 1, keys, start_ms - 600_000, 500)))
            subprocess.run([sys.executable, __file__, "--load", str(port), str(warm)],
                           capture_output=True, check=True)
            for name, (kind, size) in KINDS.items():
                # about SECONDS' worth at a generous rate; a run ends early if they run out
                # (the rate stays right: it is counted over the time they took)
                count = int(SECONDS * MESSAGES_PER_S[size])
                messages = _messages(kind, size, keys, start_ms, count)
                file = data_dir / f"{name}.jsonl"
                file.write_text("\n".join(m.decode() for m in messages))
                done = subprocess.run([sys.executable, __file__, "--load", str(port), str(file)],
                                      capture_output=True, text=True, check=True)
                run = json.loads(done.stdout)
                latencies = sorted(run["latencies_ms"])
                accepted = run["statuses"].get("202", 0)
                results[f"device_ingest_{name}_readings_per_s"] = round(
                    accepted * size / run["elapsed_s"], 1)
                results[f"device_ingest_{name}_messages_per_s"] = round(
                    accepted / run["elapsed_s"], 1)
                results[f"device_ingest_{name}_p50_ms"] = round(_percentile(latencies, 0.5), 2)
                results[f"device_ingest_{name}_p99_ms"] = round(_percentile(latencies, 0.99), 2)
                results[f"device_ingest_{name}_refused"] = sum(
                    n for status, n in run["statuses"].items() if status != "202")
                print(name, {k: v for k, v in results.items() if name in k}, flush=True)
        finally:
            server.stop()
    out = REPO / "benchmarks" / "device_ingest.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
