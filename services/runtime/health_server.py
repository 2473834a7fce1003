"""The one /healthz and /metrics server every service runs beside its work: plain HTTP on
127.0.0.1 in a daemon thread, so it answers whatever the service's own loop (trio, a poll loop,
a thread pool) is doing. A service registers what it reports: a health check and a metrics
renderer, each read at scrape time; nothing here writes the service's state.

No health values, keys or patient ids belong in either answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

PROMETHEUS_TEXT = "text/plain; version=0.0.4"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain"


def text_health(ok: bool, ok_text: str = "ok", not_ok_text: str = "starting") -> Reply:
    return Reply(200, f"{ok_text}\n".encode()) if ok else Reply(503, f"{not_ok_text}\n".encode())


def json_health(status: int, body: Mapping) -> Reply:
    return Reply(status, json.dumps(body).encode(), "application/json")


def registry_metrics(registry: CollectorRegistry) -> Callable[[], Reply]:
    """A prometheus_client registry as the metrics renderer."""
    return lambda: Reply(200, generate_latest(registry), CONTENT_TYPE_LATEST)


def prometheus_text(metrics: Mapping[str, object], prefix: str) -> str:
    """Plain counters (name → number) in Prometheus text format, each named prefix_name. A name may
    carry labels (`name{label="value"}`); names ending in _total are counters, others gauges;
    anything not a number is left out."""
    lines, typed = [], set()
    for key, value in sorted(metrics.items()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        name = f"{prefix}_{key}"
        family = name.split("{", 1)[0]
        if family not in typed:
            typed.add(family)
            lines.append(f"# TYPE {family} {'counter' if family.endswith('_total') else 'gauge'}")
        lines.append(f"{name} {value}")
    return "\n".join(lines) + "\n"


def counters_metrics(read: Callable[[], Mapping[str, object]], prefix: str) -> Callable[[], Reply]:
    """Plain counters read at scrape time (`read()`) as the metrics renderer."""
    return lambda: Reply(200, prometheus_text(read(), prefix).encode(), PROMETHEUS_TEXT)


def always_healthy() -> Reply:
    """For a service whose process being alive is the whole answer."""
    return text_health(True)


NOT_FOUND = Reply(404, b"not found\n")


class HealthServer:
    """GET /healthz → `health()`, GET /metrics → `metrics()`, anything else 404.

    one_scrape_at_a_time: where a scrape reads files or counters another scrape must not
    interleave with (and one at a time is plenty)."""

    def __init__(self, port: int, health: Callable[[], Reply], metrics: Callable[[], Reply],
                 *, host: str = "127.0.0.1", one_scrape_at_a_time: bool = False) -> None:
        routes = {"/healthz": health, "/metrics": metrics}
        lock = threading.Lock() if one_scrape_at_a_time else None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                route = routes.get(self.path)
                if route is None:
                    reply = NOT_FOUND
                elif lock is None:
                    reply = route()
                else:
                    with lock:
                        reply = route()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args):  # access logs are noise here
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
