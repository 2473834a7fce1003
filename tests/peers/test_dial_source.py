"""A peer's TCP dials leave from the address it listens on (services/peers/dial_source.py): real
sockets on the machine's loopback, 127.0.0.2 dialling a listener on 127.0.0.3."""

from functools import partial

import multiaddr
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.transport.tcp.tcp import TCP

from services.peers.dial_source import dial_from
from services.peers.host import make_host


def tcp_transport(host) -> TCP:
    return next(t for t in host.get_network().transport_manager.get_transports()
                if isinstance(t, TCP))


async def dialled_from(source: str) -> str:
    """The source address a listener on 127.0.0.3 sees when a host bound to `source` dials."""
    host = make_host(create_new_key_pair())
    dial_from(host, source)
    seen: list[str] = []

    async def accept(stream):
        seen.append(stream.socket.getpeername()[0])
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, accept, 0, host="127.0.0.3"))
        port = listeners[0].socket.getsockname()[1]
        connection = await tcp_transport(host).dial(
            multiaddr.Multiaddr(f"/ip4/127.0.0.3/tcp/{port}"))
        with trio.fail_after(5):
            while not seen:
                await trio.sleep(0.01)
        await connection.close()
        nursery.cancel_scope.cancel()
    return seen[0]


def test_dial_source__dials_leave_from_the_listen_address():
    assert trio.run(dialled_from, "127.0.0.2") == "127.0.0.2"


def test_dial_source__a_wildcard_keeps_the_kernels_choice():
    assert trio.run(dialled_from, "0.0.0.0") == "127.0.0.1"
