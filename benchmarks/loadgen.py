"""Load generator for the proxy and market benchmarks, run in its own process so that it never
shares an interpreter with what it measures. Raw HTTP/1.1 over keep-alive connections (no client
library overhead). Prints one JSON object.

  python loadgen.py latency N URL...    sequential requests, one connection per URL, alternating
  python loadgen.py throughput URL C S  C concurrent connections for S seconds: completed requests
  python loadgen.py reads URL TOKEN C S the same with `GET URL` and a bearer token (gateway reads)
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
        result = asyncio.run(throughput(url, int(args[1]), float(args[2]), token=args[0]))
    else:
        result = asyncio.run(throughput(url, int(args[0]), float(args[1])))
    print(json.dumps(result))
