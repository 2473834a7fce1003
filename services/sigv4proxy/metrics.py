"""Prometheus metrics. Under gunicorn the CLI sets PROMETHEUS_MULTIPROC_DIR before this module is
imported, so every worker writes to shared files and /metrics shows the sum of all workers."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

REQUESTS = Counter(
    "pulseledger_proxy_requests_total", "HTTP requests answered, by status", ["status"]
)
CALLS = Counter(
    "pulseledger_proxy_calls_total",
    "JSON-RPC calls checked, by method ('not_allowed' for methods off the list; 'invalid' for "
    "other refusals over WebSocket)",
    ["method", "outcome"],
)
UPSTREAM_ATTEMPTS = Counter(
    "pulseledger_proxy_upstream_attempts_total",
    "Attempts to reach an upstream, by upstream name and outcome",
    ["upstream", "outcome"],
)
UPSTREAM_HEALTHY = Gauge(
    "pulseledger_proxy_upstream_healthy",
    "1 when the last health probe of the upstream succeeded",
    ["upstream"],
    multiprocess_mode="livemax",
)
WS_CONNECTIONS = Counter(
    "pulseledger_proxy_ws_connections_total",
    "WebSocket client connections, by upstream reached (or 'none')",
    ["upstream"],
)
REQUEST_SECONDS = Histogram(
    "pulseledger_proxy_request_seconds",
    "Time from request to response inside the proxy",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.mark_process_dead(pid)
