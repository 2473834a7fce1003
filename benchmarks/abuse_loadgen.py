"""The abusive client of the gateway benchmark, in its own process (it never shares an interpreter
with the gateway or the honest client it disturbs). Raw HTTP/1.1 over keep-alive connections from
one loopback address, at full speed, for a fixed time; it stops by itself. Prints one JSON object:
requests sent and answers by kind and status.

    python abuse_loadgen.py BASE_URL SOURCE_ADDRESS SECONDS CONNECTIONS TOKEN OWNER

What it does at once (issue 14, finding 4, and more):
- holds 16 live streams on its own account open and never reads them;
- floods GET /auth/nonce, POSTs garbage sign-ins and deeply nested JSON bodies;
- reads its own windows as fast as the server answers.
"""

import asyncio
import json
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

STREAMS = 16
NESTED = b"[" * 4000 + b"]" * 4000


def _requests(host: str, token: str, owner: str) -> list[tuple[str, bytes]]:
    def get(path: str, auth: bool = False) -> bytes:
        header = f"Authorization: Bearer {token}\r\n" if auth else ""
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{header}\r\n".encode()

    def post(path: str, body: bytes) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    return [("nonce", get("/auth/nonce")),
            ("bad_sign_in", post("/auth/sign-in", b'{"message": "hi", "signature": "0x00"}')),
            ("nested_json", post("/onboarding/contacts", NESTED)),
            ("own_windows", get(f"/patients/{owner}/windows", auth=True))]


async def _status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at >= 0:
        await reader.readexactly(int(lower[at + 15:].split(b"\r\n", 1)[0]))
    return int(head[9:12])


async def main(base: str, source: str, seconds: float, connections: int, token: str,
               owner: str) -> dict:
    parts = urlsplit(base)
    host, port = parts.hostname, parts.port
    mix = _requests(parts.netloc, token, owner)
    counts: Counter[str] = Counter()
    stop_at = time.perf_counter() + seconds

    async def connect():
        return await asyncio.open_connection(host, port, local_addr=(source, 0))

    held = []
    for _ in range(STREAMS):
        reader, writer = await connect()
        writer.write(f"GET /patients/{owner}/live HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        counts[f"live {int(head[9:12])}"] += 1
        held.append(writer)  # open, never read: a slow reader on top

    async def worker(offset: int):
        reader, writer = await connect()
        i = offset
        while time.perf_counter() < stop_at:
            kind, request = mix[i % len(mix)]
            i += 1
            try:
                writer.write(request)
                counts[f"{kind} {await _status(reader)}"] += 1
            except (ConnectionError, asyncio.IncompleteReadError):
                counts[f"{kind} dropped"] += 1
                writer.close()
                reader, writer = await connect()
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    elapsed = time.perf_counter() - started
    for writer in held:
        writer.close()
    return {"seconds": elapsed, "counts": dict(counts)}


if __name__ == "__main__":
    url, source, seconds, connections, token, owner = sys.argv[1:]
    print(json.dumps(asyncio.run(main(url, source, float(seconds), int(connections), token,
                                      owner))))
