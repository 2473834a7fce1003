"""/healthz and Prometheus /metrics for a peer, on 127.0.0.1, in a thread (the peer itself is
trio; the counters it reads are plain ints). No health values, keys or patient ids appear."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def prometheus_text(metrics: dict) -> str:
    lines, typed = [], set()
    for key, value in sorted(metrics.items()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        name = f"pulseledger_peers_{key}"  # a key may carry labels: name{label="value"}
        family = name.split("{", 1)[0]
        if family not in typed:
            typed.add(family)
            lines.append(f"# TYPE {family} {'counter' if family.endswith('_total') else 'gauge'}")
        lines.append(f"{name} {value}")
    return "\n".join(lines) + "\n"


class StatusServer:
    def __init__(self, node, port: int):
        node_ref = node

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/healthz":
                    ready = node_ref.ready.is_set()
                    body, code = (b"ok\n", 200) if ready else (b"starting\n", 503)
                    content_type = "text/plain"
                elif self.path == "/metrics":
                    body, code = prometheus_text(node_ref.metrics()).encode(), 200
                    content_type = "text/plain; version=0.0.4"
                else:
                    body, code, content_type = b"not found\n", 404, "text/plain"
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # access logs are noise here
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> StatusServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
