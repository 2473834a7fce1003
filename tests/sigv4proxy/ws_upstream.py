"""A loopback WebSocket upstream for the tests: verifies the SigV4 signature of the handshake with
the known test credentials (sigv4_verifier.py), records every call it receives and every
handshake's headers, and relays to anvil's WebSocket so that subscriptions are real. With
`chain_id` set (any time) it answers eth_chainId itself: a provider now pointing at another
chain; `push` sends any message to every connected client, as a misbehaving provider could;
`reply` (any time) answers a call itself when it returns a message: it sees the handshake's
headers, as a provider quoting the request in its error would."""

import asyncio
import json
import threading
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from .sigv4_verifier import Credentials, verify


class WsTestUpstream:
    __test__ = False

    def __init__(self, relay_to: str, sigv4: Credentials | None = None):
        self.relay_to, self.sigv4 = relay_to, sigv4
        self.chain_id: int | None = None
        self.reply = None  # (handshake headers, call) -> message to answer with, or None
        self.received: list[str] = []
        self.calls: list[dict] = []
        self.handshakes: list[dict] = []
        self.rejected: list[str] = []
        self.verified = 0
        self._clients: set = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def methods(self) -> list[str]:
        return list(self.received)

    def _check_signature(self, connection, request):
        self.handshakes.append(dict(request.headers.raw_items()))
        if self.sigv4 is None:
            return None
        url = urlsplit(request.path)
        reason = verify(self.sigv4, "GET", url.path, url.query, request.headers.raw_items(), b"")
        if reason is not None:
            self.rejected.append(reason)
            return Response(403, "Forbidden", Headers([("Content-Length", "0")]), b"")
        self.verified += 1
        return None

    async def _relay(self, client):
        self._clients.add(client)
        handshake = dict(client.request.headers.raw_items())
        async with connect(self.relay_to, proxy=None) as anvil:

            async def up():
                async for message in client:
                    call = json.loads(message)
                    self.received.append(call.get("method"))
                    self.calls.append(call)
                    if call.get("method") == "eth_chainId" and self.chain_id is not None:
                        answer = {"jsonrpc": "2.0", "id": call["id"], "result": hex(self.chain_id)}
                        await client.send(json.dumps(answer))
                        continue
                    own = self.reply(handshake, call) if self.reply is not None else None
                    if own is not None:
                        await client.send(own)
                        continue
                    await anvil.send(message)

            async def down():
                async for message in anvil:
                    await client.send(message)

            tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
        self._clients.discard(client)

    async def _main(self):
        async with serve(
            self._relay, "127.0.0.1", 0, process_request=self._check_signature
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def _run(self):
        self._loop.run_until_complete(self._main())

    def push(self, message: str) -> None:
        async def send_all():
            clients = list(self._clients)
            await asyncio.gather(*(c.send(message) for c in clients), return_exceptions=True)

        asyncio.run_coroutine_threadsafe(send_all(), self._loop).result(10)

    def drop_connections(self) -> None:
        """Closes every open client connection, as a provider restarting would."""

        async def close_all():
            await asyncio.gather(*(c.close(1012, "restarting") for c in list(self._clients)))

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(10)

    def stop(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
