"""A loopback HTTP proxy in front of a JSON-RPC node that injects faults: HTTP errors, JSON-RPC
errors, hangs (client timeouts), dropped connections, truncated and garbage bodies."""

from __future__ import annotations

import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

FAULTS = ("http_500", "rpc_error", "hang", "drop", "truncate", "garbage")


class FaultProxy:
    def __init__(self, upstream: str, fault_rate: float = 0.0, seed: int = 0,
                 hang_s: float = 1.0) -> None:
        self.upstream = upstream
        self.fault_rate = fault_rate
        self.down = False  # every connection dropped: the node "disappeared"
        self.hang_s = hang_s
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: dict[str, int] = dict.fromkeys(FAULTS, 0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy.pick_fault()
                if fault in ("drop", "down"):
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault == "hang":
                    time.sleep(proxy.hang_s)
                    self.close_connection = True
                    return
                if fault == "http_500":
                    return self._reply(500, b"upstream exploded")
                if fault == "rpc_error":
                    return self._reply(200, b'{"jsonrpc":"2.0","id":1,"error":'
                                            b'{"code":-32603,"message":"injected"}}')
                if fault == "garbage":
                    return self._reply(200, b"<html>bad gateway</html>")
                reply = requests.post(proxy.upstream, data=body, timeout=10,
                                      headers={"Content-Type": "application/json"})
                content = reply.content
                if fault == "truncate":
                    content = content[: max(1, len(content) // 2)]
                self._reply(reply.status_code, content)

            def _reply(self, status: int, content: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pick_fault(self) -> str | None:
        with self.lock:
            if self.down:
                return "down"
            if self.rng.random() >= self.fault_rate:
                return None
            fault = self.rng.choice(FAULTS)
            self.injected[fault] += 1
            return fault

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
