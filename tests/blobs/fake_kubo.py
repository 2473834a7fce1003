"""A loopback HTTP server answering /api/v0/add and /api/v0/cat the way Kubo's RPC does.

No Kubo binary can be installed on these machines, so the IPFS adapter is tested at this HTTP
boundary. What is reproduced from Kubo: POST only (405 otherwise), multipart upload in the
`file` field, query options (`cid-version`, `raw-leaves`, `chunker`), newline-delimited JSON
`{"Name","Hash","Size"}` for add, raw bytes for cat, and HTTP 500 with a JSON
`{"Message","Code","Type":"error"}` body for errors. CIDs are computed by the same rules as
Kubo's `unixfs-v1-2025` profile only when the client asks for those options; any other options
get a CIDv0-looking answer, so a client that forgets them is caught.
"""

from __future__ import annotations

import json
import threading
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlparse

from services.blobs.cid import compute_cid


class FakeKubo:
    def __init__(self) -> None:
        self.blocks: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict]] = []
        self.corrupt_next_cat = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _error(self, message: str, status: int = 500) -> None:
                body = json.dumps({"Message": message, "Code": 0, "Type": "error"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._error("method not allowed", 405)

            def do_POST(self) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                outer.requests.append((url.path, query))
                if url.path == "/api/v0/add":
                    self._add(query)
                elif url.path == "/api/v0/cat":
                    self._cat(query)
                elif url.path == "/api/v0/version":
                    self._json({"Version": "0.39.0", "Commit": "", "Repo": "16"})
                else:
                    self._error(f"404 page not found: {url.path}", 404)

            def _json(self, obj: dict) -> None:
                body = (json.dumps(obj) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _add(self, query: dict) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else self._read_chunked()
                head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
                message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
                parts = (
                    [
                        p
                        for p in message.iter_parts()
                        if p.get_param("name", header="content-disposition") == "file"
                    ]
                    if message.is_multipart()
                    else []
                )
                if not parts:
                    self._error("file argument 'path' is required", 400)
                    return
                data = parts[0].get_payload(decode=True) or b""
                profile = (
                    query.get("cid-version") == "1"
                    and query.get("raw-leaves") == "true"
                    and query.get("chunker") == "size-1048576"
                )
                cid = compute_cid(data) if profile else "Qm" + "x" * 44
                outer.blocks[cid] = data
                self._json({"Name": cid, "Hash": cid, "Size": str(len(data))})

            def _read_chunked(self) -> bytes:
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()

            def _cat(self, query: dict) -> None:
                cid = query.get("arg", "")
                if cid not in outer.blocks:
                    self._error(
                        f"block was not found locally (offline): ipld: could not find {cid}"
                    )
                    return
                data = outer.blocks[cid]
                if outer.corrupt_next_cat and data:
                    outer.corrupt_next_cat = False
                    data = bytes([data[0] ^ 1]) + data[1:]
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.port}/http"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
