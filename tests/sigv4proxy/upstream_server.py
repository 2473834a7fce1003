"""A loopback HTTP server playing an RPC provider for the tests: it records every request it gets,
optionally verifies SigV4 signatures, and then forwards to anvil, stalls, redirects or fails."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

from .sigv4_verifier import Credentials, verify


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: "TestUpstream"):
        self.owner = owner
        self.open_sockets: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):
        self.open_sockets.add(request)
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _reply(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.owner._record(self, b"")
        self._reply(404, b"{}")

    def do_POST(self):
        owner: TestUpstream = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        owner._record(self, body)
        if owner.sigv4 is not None:
            url = urlsplit(self.path)
            reason = verify(owner.sigv4, "POST", url.path, url.query, dict(self.headers), body)
            if reason is not None:
                owner.rejected.append(reason)
                return self._reply(403, json.dumps({"message": reason}).encode())
            owner.verified += 1
        if owner.mode == "stall":
            owner.release.wait(30)
            return self._reply(200, b"{}")
        if owner.mode == "redirect":
            return self._reply(307, b"{}", {"Location": owner.redirect_to})
        if owner.mode == "answer":
            call = json.loads(body)
            result = owner.answers.get(call.get("method"))
            return self._reply(
                200, json.dumps({"jsonrpc": "2.0", "id": call.get("id"), "result": result}).encode()
            )
        if owner.mode == "status":
            return self._reply(owner.status, b'{"error":"unavailable"}')
        upstream = requests.post(
            owner.forward_to, data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        self._reply(upstream.status_code, upstream.content)


class TestUpstream:
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        forward_to: str | None = None,
        sigv4: Credentials | None = None,
        mode: str = "forward",
        redirect_to: str | None = None,
        status: int = 200,
        answers: dict | None = None,
    ):
        self.answers = answers or {}
        self.forward_to, self.sigv4, self.mode = forward_to, sigv4, mode
        self.redirect_to, self.status = redirect_to, status
        self.requests: list[dict] = []  # every request, whatever its method or path
        self.rejected: list[str] = []
        self.verified = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        calls = payload if isinstance(payload, list) else [payload] if payload else []
        methods = [c.get("method") for c in calls if isinstance(c, dict)]
        with self._lock:
            self.requests.append(
                {"path": handler.path, "headers": dict(handler.headers), "methods": methods}
            )

    def methods(self) -> list[str]:
        with self._lock:
            return [m for r in self.requests for m in r["methods"]]

    def stop(self) -> None:
        """Dies like a crashed provider: the listener and every open connection go away."""
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        for sock in list(self._server.open_sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
