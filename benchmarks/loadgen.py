"""Load generator for the proxy and market benchmarks, run in its own process so that it never
shares an interpreter with what it measures. Raw HTTP/1.1 over keep-alive connections (no client
library overhead). Prints one JSON object.

  python loadgen.py latency N URL...    sequential requests, one connection per URL, alternating
  python loadgen.py throughput URL C S  C concurrent connections for S seconds: completed requests
  python loadgen.py reads URL TOKEN C S the same with `GET URL` and a bearer token (gateway reads)

Reads receive each body into one reused buffer and keep only its length (`_DiscardingReads`): a
StreamReader copies a 2.7 MB body twice into new objects, which cost this process about 4 ms of
CPU per read, on the same two cores as the gateway it measures.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

BODY = b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'


def _request(url: str, token: str | None = None) -> bytes:
    parts = urlsplit(url)
    if token is not None:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return (f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n").encode()
    return (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    length = int(lower[at + 15 :].split(b"\r\n", 1)[0])
    await reader.readexactly(length)
    return status


async def _connect(url: str):
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def latency(urls: list[str], count: int) -> dict:
    """Sequential requests, alternating between the URLs request by request, so that every URL's
    samples meet the same background load (the machine is shared)."""
    targets = []
    for url in urls:
        reader, writer = await _connect(url)
        targets.append((_request(url), reader, writer))
    samples: list[list[float]] = [[] for _ in urls]
    for i in range(count + count // 10):  # the first tenth warms up and is not kept
        for index, (request, reader, writer) in enumerate(targets):
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise RuntimeError(f"status {status}")
            if i >= count // 10:
                samples[index].append(elapsed)
    for _, _, writer in targets:
        writer.close()
    return {"latencies_ms": samples}


HEAD_LIMIT = 64 * 1024  # a response head longer than this is an error here


class _DiscardingReads(asyncio.BufferedProtocol):
    """Keep-alive requests on one connection until `stop_at`: the kernel writes each response into
    one reused buffer; only the head is parsed, the body is counted and dropped."""

    def __init__(self, request: bytes, stop_at: float, done: asyncio.Future):
        self._request, self._stop_at, self._done = request, stop_at, done
        self._buffer = memoryview(bytearray(1 << 20))
        self._head = bytearray()
        self._remaining: int | None = None  # body bytes still to come; None while reading a head
        self._status = 0
        self.ok = self.failed = 0

    def connection_made(self, transport) -> None:
        self._transport = transport
        transport.write(self._request)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self._buffer[:nbytes]
        while data:
            if self._remaining is None:
                data = self._read_head(data)
                continue
            taken = min(self._remaining, len(data))
            self._remaining -= taken
            data = data[taken:]
            if self._remaining == 0:
                self._response_done()

    def _read_head(self, data: memoryview) -> memoryview:
        before = len(self._head)
        self._head += data[:HEAD_LIMIT]
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) >= HEAD_LIMIT:
                raise RuntimeError("response head too long")
            return data[len(data):]
        head = bytes(self._head[:end + 4]).lower()
        self._status = int(head[9:12])
        at = head.find(b"content-length:")
        self._remaining = int(head[at + 15:].split(b"\r\n", 1)[0])
        self._head.clear()
        rest = data[end + 4 - before:]
        if self._remaining == 0:
            self._response_done()
        return rest

    def _response_done(self) -> None:
        if self._status == 200:
            self.ok += 1
        else:
            self.failed += 1
        self._remaining = None
        if time.perf_counter() < self._stop_at:
            self._transport.write(self._request)
        else:
            self._transport.close()

    def connection_lost(self, exc) -> None:
        if not self._done.done():
            self._done.set_result(None)


async def reads(url: str, connections: int, seconds: float, token: str) -> dict:
    """`throughput` for large bodies (gateway reads): one `_DiscardingReads` per connection."""
    loop = asyncio.get_running_loop()
    parts, request = urlsplit(url), _request(url, token)
    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    readers = []
    for _ in range(connections):
        done = loop.create_future()
        _, protocol = await loop.create_connection(
            lambda done=done: _DiscardingReads(request, stop_at, done), parts.hostname, parts.port)
        readers.append((protocol, done))
    await asyncio.gather(*(done for _, done in readers))
    return {"ok": sum(p.ok for p, _ in readers), "failed": sum(p.failed for p, _ in readers),
            "seconds": time.perf_counter() - started}


async def throughput(url: str, connections: int, seconds: float, token: str | None = None) -> dict:
    request = _request(url, token)
    ok = failed = 0
    stop_at = time.perf_counter() + seconds

    async def worker():
        nonlocal ok, failed
        reader, writer = await _connect(url)
        while time.perf_counter() < stop_at:
            writer.write(request)
            if await _read_response(reader) == 200:
                ok += 1
            else:
                failed += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return {"ok": ok, "failed": failed, "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    mode, url, *args = sys.argv[1:]
    if mode == "latency":
        result = asyncio.run(latency(args, int(url)))
    elif mode == "reads":
        result = asyncio.run(reads(url, int(args[1]), float(args[2]), token=args[0]))
    else:
        result = asyncio.run(throughput(url, int(args[0]), float(args[1])))
    print(json.dumps(result))
