"""Benchmark of the JSON-RPC proxy under gunicorn → benchmarks/proxy.json.

Added latency (p50/p99, proxy minus direct) and requests/s through the proxy, measured by a load
generator in its own process (loadgen.py), first against a static loopback upstream (what the
proxy itself costs) and then against anvil (what a real node adds). Everything on 127.0.0.1."""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FOUNDRY_BIN = REPO / "node_modules/@foundry-rs/anvil-linux-amd64/bin"
LATENCY_REQUESTS = 2000
CONNECTIONS = 32
SECONDS = 4.0
WORKERS = int(os.environ.get("BENCH_PROXY_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_PROXY_THREADS", "8"))


def start_static() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "static_upstream.py")], stdout=subprocess.PIPE, text=True
    )
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/"


def start_anvil(log_dir: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("anvil", path=f"{FOUNDRY_BIN}:{os.environ.get('PATH', '')}")
    log = log_dir / "anvil.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0"], stdout=out, stderr=out
        )
    for _ in range(400):
        match = re.search(r"Listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if match:
            return proc, f"http://127.0.0.1:{match.group(1)}/"
        time.sleep(0.025)
    raise RuntimeError("anvil did not start")


def start_proxy(upstream: str, log_dir: Path) -> tuple[subprocess.Popen, str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    metrics_dir = Path(tempfile.mkdtemp(dir=log_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSELEDGER_PROXY_")}
    env.update(
        PULSELEDGER_PROXY_UPSTREAMS=json.dumps([{"url": upstream, "name": "bench"}]),
        PULSELEDGER_PROXY_CHAIN_ID="31337",
        # The load generator is one client: the limiter runs, but must not refuse.
        PULSELEDGER_PROXY_RATE_LIMIT_PER_SECOND="1e9",
        PULSELEDGER_PROXY_RATE_LIMIT_BURST="1000000000",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    command = [
        sys.executable, "-m", "services.sigv4proxy", "--bind", f"fd://{listener.fileno()}",
        "--workers", str(WORKERS), "--threads", str(THREADS),
    ]  # fmt: skip
    with (log_dir / "proxy.log").open("a") as log:
        proc = subprocess.Popen(
            command, env=env, pass_fds=(listener.fileno(),), stdout=log, stderr=log
        )
    listener.close()
    url = f"http://127.0.0.1:{port}/"
    requests.get(url + "healthz", timeout=30)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def loadgen(*args) -> dict:
    out = subprocess.run(
        [sys.executable, str(HERE / "loadgen.py"), *map(str, args)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout)


def latencies(*urls: str) -> list[tuple[float, float]]:
    """(p50, p99) per URL, sampled alternately on one keep-alive connection per URL."""
    per_url = loadgen("latency", LATENCY_REQUESTS, *urls)["latencies_ms"]
    return [(statistics.median(s), statistics.quantiles(s, n=100)[98]) for s in per_url]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for process in [pid, *map(int, children)]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def requests_per_second(url: str, runs: int = 1, pid: int | None = None) -> tuple[float, float]:
    """(requests/s, CPU ms per request of process `pid` and its children), medians over `runs`
    runs: the two cores are shared, one run can meet a burst of other work. CPU per request
    depends less on what else runs than requests/s does (though contention inflates it too)."""
    rates, costs = [], []
    for _ in range(runs):
        before = cpu_seconds(pid) if pid else 0.0
        result = loadgen("throughput", url, CONNECTIONS, SECONDS)
        if result["failed"]:
            raise RuntimeError(f"{result['failed']} requests failed under load")
        rates.append(result["ok"] / result["seconds"])
        if pid:
            costs.append(1000 * (cpu_seconds(pid) - before) / max(1, result["ok"]))
    return statistics.median(rates), statistics.median(costs) if costs else 0.0


def measure(prefix: str, upstream: str, log_dir: Path) -> dict:
    proxy, proxy_url = start_proxy(upstream, log_dir)
    try:
        latencies(proxy_url)  # warm up
        (direct_p50, direct_p99), (proxied_p50, proxied_p99) = latencies(upstream, proxy_url)
        proxied_rate, proxied_cpu_ms = requests_per_second(proxy_url, runs=3, pid=proxy.pid)
        return {
            f"{prefix}_direct_p50_ms": round(direct_p50, 3),
            f"{prefix}_direct_p99_ms": round(direct_p99, 3),
            f"{prefix}_proxied_p50_ms": round(proxied_p50, 3),
            f"{prefix}_proxied_p99_ms": round(proxied_p99, 3),
            f"{prefix}_added_p50_ms": round(proxied_p50 - direct_p50, 3),
            f"{prefix}_added_p99_ms": round(proxied_p99 - direct_p99, 3),
            f"{prefix}_proxied_requests_per_s": round(proxied_rate, 1),
            f"{prefix}_proxy_cpu_ms_per_request": round(proxied_cpu_ms, 3),
            f"{prefix}_direct_requests_per_s": round(requests_per_second(upstream)[0], 1),
        }
    finally:
        stop(proxy)


def main() -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    results: dict[str, float] = {
        "gunicorn_workers": WORKERS,
        "gunicorn_threads": THREADS,
        "load_connections": CONNECTIONS,
        "cpu_cores": os.cpu_count() or 0,
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }
    static, static_url = start_static()
    try:
        results.update(measure("static", static_url, log_dir))
    finally:
        stop(static)
    if os.environ.get("BENCH_PROXY_STATIC_ONLY"):
        print(json.dumps(results, indent=2))
        return
    anvil, anvil_url = start_anvil(log_dir)
    try:
        results.update(measure("anvil", anvil_url, log_dir))
    finally:
        stop(anvil)
    shutil.rmtree(log_dir, ignore_errors=True)
    # The two cores are shared with everything else running: say how busy they were.
    results["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    (HERE / "proxy.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
