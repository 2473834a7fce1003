"""A static JSON-RPC upstream for benchmarks: answers every POST with the same small result, under
the request's own id (the proxy only passes answers to the ids it sent), over keep-alive
connections, as cheaply as Python allows, so that what is measured is the proxy.
Run as its own process: prints its port, serves until killed."""

import asyncio
import re
import sys

_ID = re.compile(rb'"id":\s*("(?:[^"\\]|\\.)*"|-?\d+)')
_CACHE: dict[bytes, bytes] = {}


def _response(request_body: bytes) -> bytes:
    """The HTTP answer for this id: result 0x7a69 (31337, also a valid eth_chainId answer)."""
    match = _ID.search(request_body)
    request_id = match.group(1) if match else b"null"
    response = _CACHE.get(request_id)
    if response is None:
        body = b'{"jsonrpc":"2.0","id":' + request_id + b',"result":"0x7a69"}'
        response = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        if len(_CACHE) < 1024:
            _CACHE[request_id] = response
    return response


class _Protocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body = self.buffer[head_end + 4 : end]
            self.buffer = self.buffer[end:]
            self.transport.write(_response(body))


async def main() -> None:
    server = await asyncio.get_running_loop().create_server(_Protocol, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
