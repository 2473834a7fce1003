"""A loopback HTTP server playing an RPC provider for the tests: it records every request it gets
(path, headers, methods, ids), optionally verifies SigV4 signatures (sigv4_verifier.py, written
from the AWS specification, not botocore), and then forwards to a node (anvil; switchable while
running, as a provider's DNS or config change would), stalls, redirects, fails or answers with a
body of the test's choosing. With `chain_id` set it answers `eth_chainId` itself, so that the
proxy verifies it and then meets the mode with the calls that matter."""

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
        payload = owner._record(self, body)
        call = payload if isinstance(payload, dict) else {}
        if owner.sigv4 is not None:
            url = urlsplit(self.path)
            reason = verify(owner.sigv4, "POST", url.path, url.query, self.headers.items(), body)
            if reason is not None:
                owner.rejected.append(reason)
                return self._reply(403, json.dumps({"message": reason}).encode())
            owner.verified += 1
        if owner.chain_id is not None and call.get("method") == "eth_chainId":
            answer = {"jsonrpc": "2.0", "id": call.get("id"), "result": hex(owner.chain_id)}
            return self._reply(200, json.dumps(answer).encode())
        if owner.mode == "reply":  # status and body from the test, which sees the request
            # (a batch's calls as a list)
            status, reply = owner.reply(
                dict(self.headers), payload if isinstance(payload, list) else call
            )
            return self._reply(status, reply)
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
        owner.gate.wait(30)  # open unless a test holds answers back
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
        chain_id: int | None = None,
        reply=None,
    ):
        self.answers = answers or {}
        self.chain_id = chain_id
        self.reply = reply  # (headers, call) -> (status, body), for mode "reply"
        self.forward_to, self.sigv4, self.mode = forward_to, sigv4, mode
        self.redirect_to, self.status = redirect_to, status
        self.requests: list[dict] = []  # every request, whatever its method or path
        self.rejected: list[str] = []
        self.verified = 0
        self.release = threading.Event()
        self.gate = threading.Event()  # forward mode: answers wait while this is clear
        self.gate.set()
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes):
        """Records the request; returns what the body decodes to (a call, a batch's list), or
        None."""
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        calls = payload if isinstance(payload, list) else [payload] if payload else []
        calls = [c for c in calls if isinstance(c, dict)]
        with self._lock:
            self.requests.append(
                {
                    "path": handler.path,
                    "headers": dict(handler.headers),
                    "methods": [c.get("method") for c in calls],
                    "ids": [c.get("id") for c in calls],
                    "calls": calls,
                }
            )
        return payload

    def methods(self) -> list[str]:
        with self._lock:
            return [m for r in self.requests for m in r["methods"]]

    def ids(self) -> list:
        """Every call id received: the tests' own ids tell client calls from the proxy's checks."""
        with self._lock:
            return [i for r in self.requests for i in r["ids"]]

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
