"""A tiny static file server for the dapp's build (127.0.0.1 only), with a /healthz.

    python -m services.stack.static_server DIST_DIR PORT [CONFIG_JSON]

Unknown paths fall back to index.html, so the single-page app's own routes survive a reload.
CONFIG_JSON, when given, is served as /config.json: the dapp's runtime configuration (chain, RPC,
gateway, contract), so one build serves whatever chain `up` started.
"""

from __future__ import annotations

import functools
import signal
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class DappHandler(SimpleHTTPRequestHandler):
    runtime_config: Path | None = None

    def _json(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == "/healthz":
            self._json(b'{"status": "ok"}')
            return
        if route == "/config.json" and self.runtime_config is not None:
            self._json(self.runtime_config.read_bytes())
            return
        path = self.translate_path(self.path)
        if not Path(path).exists():
            self.path = "/index.html"
        super().do_GET()

    def log_message(self, *args) -> None:  # quiet: the terminal belongs to the status view
        pass


def serve(directory: Path, port: int, config: Path | None = None, host: str = "127.0.0.1") -> None:
    handler_class = type("ConfiguredDappHandler", (DappHandler,), {"runtime_config": config})
    handler = functools.partial(handler_class, directory=str(directory))
    server = ThreadingHTTPServer((host, port), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
