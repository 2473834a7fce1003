"""Prometheus metrics. Under gunicorn the CLI sets PROMETHEUS_MULTIPROC_DIR before this module is
imported, so every worker writes to shared files and /metrics shows the sum of all workers.
Upstream state (health, chain verification, head) is read at scrape time from the board every
worker shares (board.py), so it is the same whichever worker answers."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import GaugeMetricFamily

from .board import MISMATCH

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
CHAIN_MISMATCHES = Counter(
    "pulseledger_proxy_upstream_chain_mismatches_total",
    "Times an upstream was found answering another chain id and taken out",
    ["upstream"],
)
WS_CONNECTIONS = Counter(
    "pulseledger_proxy_ws_connections_total",
    "WebSocket client connections, by upstream reached (or 'none')",
    ["upstream"],
)
WS_UPSTREAM_CLOSED = Counter(
    "pulseledger_proxy_ws_upstream_closed_total",
    "WebSocket sessions ended by the proxy because of their upstream, by reason",
    ["upstream", "reason"],
)
WS_DROPPED = Counter(
    "pulseledger_proxy_ws_upstream_messages_dropped_total",
    "Upstream WebSocket messages not relayed to the client, by reason",
    ["upstream", "reason"],
)
WS_REFUSED = Counter(
    "pulseledger_proxy_ws_handshakes_refused_total",
    "WebSocket handshakes refused by the proxy's own limits, by reason",
    ["reason"],
)
REQUEST_SECONDS = Histogram(
    "pulseledger_proxy_request_seconds",
    "Time from request to response inside the proxy",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class BoardCollector:
    """Gauges read from the shared upstream board at scrape time."""

    def __init__(self, names: list[str], board):
        self._names = names
        self._board = board

    def collect(self):
        states = self._board.snapshot()
        gauges = {
            "healthy": GaugeMetricFamily(
                "pulseledger_proxy_upstream_healthy",
                "1 when the upstream is used first: chain id verified and last probe answered",
                labels=["upstream"],
            ),
            "verified": GaugeMetricFamily(
                "pulseledger_proxy_upstream_chain_verified",
                "1 when the upstream's last chain id check answered the configured chain id",
                labels=["upstream"],
            ),
            "mismatch": GaugeMetricFamily(
                "pulseledger_proxy_upstream_chain_mismatch",
                "1 while the upstream is out for answering another chain id",
                labels=["upstream"],
            ),
            "head": GaugeMetricFamily(
                "pulseledger_proxy_upstream_head_block",
                "Last block number seen from the upstream while verified (-1: none)",
                labels=["upstream"],
            ),
        }
        for name, state in zip(self._names, states, strict=True):
            gauges["healthy"].add_metric([name], 1 if state.serving else 0)
            gauges["verified"].add_metric([name], 1 if state.verified else 0)
            gauges["mismatch"].add_metric([name], 1 if state.chain == MISMATCH else 0)
            gauges["head"].add_metric([name], -1 if state.head is None else state.head)
        yield from gauges.values()


def render(*collectors) -> tuple[bytes, str]:
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry) + generate_latest(extra), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY) + generate_latest(extra), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.mark_process_dead(pid)
