"""A tiny static file server for the dapp's build (127.0.0.1 only), with a /healthz.

    python -m services.stack.static_server DIST_DIR PORT

Unknown paths fall back to index.html, so the single-page app's own routes survive a reload.
"""

from __future__ import annotations

import functools
import signal
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class DappHandler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/healthz":
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path = self.translate_path(self.path)
        if not Path(path).exists():
            self.path = "/index.html"
        super().do_GET()

    def log_message(self, *args) -> None:  # quiet: the terminal belongs to the status view
        pass


def serve(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    handler = functools.partial(DappHandler, directory=str(directory))
    server = ThreadingHTTPServer((host, port), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
