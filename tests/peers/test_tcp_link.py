"""Telling a cut TCP link from a busy peer (services/peers/tcp_link.py), on real sockets: a
receiver that reads nothing (a peer whose loop is busy) still has its kernel acknowledge, even
with its receive buffer full; a link whose packets are dropped (nftables, inside a network
namespace of the test's own) acknowledges nothing from the cut on. Also: the socket is found under
a real libp2p connection, and a cut link with data waiting is closed at once once shut down."""

import socket
import subprocess
import sys
import textwrap
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.peerinfo import PeerInfo

from services.peers.host import listen_addr, make_host
from services.peers.tcp_link import since_last_ack_s, tcp_socket

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from hosts import netns


def test_receiver_that_reads_nothing__its_kernel_keeps_acknowledging():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        client.setblocking(False)
        try:
            for _ in range(4_000):  # past what its buffers hold: its window goes to zero
                client.send(b"x" * 65_536)
        except BlockingIOError:
            pass
        time.sleep(2.0)
        assert since_last_ack_s(client) < 1.5  # the window probes are answered
    finally:
        for s in (client, accepted, server):
            s.close()


def test_not_a_socket__unknown():
    assert since_last_ack_s(None) is None
    assert tcp_socket(object()) is None


@pytest.mark.parametrize("psk", [None, "ab" * 32], ids=["open", "private-network"])
def test_libp2p_connection__its_tcp_socket_found(psk):
    async def scenario():
        async with AsyncExitStack() as stack:
            a, b = make_host(create_new_key_pair(), psk), make_host(create_new_key_pair(), psk)
            for host in (a, b):
                await stack.enter_async_context(host.run([listen_addr("127.0.0.1", 0)]))
            await a.connect(PeerInfo(b.get_id(), b.get_addrs()))
            (connection,) = a.get_network().get_connections(b.get_id())
            sock = tcp_socket(connection)
            assert sock is not None
            assert sock.getpeername()[1] == int(b.get_addrs()[0].value_for_protocol("tcp"))
            assert since_last_ack_s(sock) < 5.0

    trio.run(scenario)


CUT_LINK = textwrap.dedent("""
    import socket, sys, time
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[1] + "/tests")
    from hosts import netns
    from services.peers.tcp_link import since_last_ack_s
    netns.bring_up_loopback()
    server = socket.create_server(("127.0.0.3", 0))
    client = socket.create_connection(server.getsockname(), source_address=("127.0.0.2", 0))
    accepted, _ = server.accept()
    netns.cut_off("127.0.0.3")
    for _ in range(6):  # a note a second, none acknowledged
        client.send(b"a note")
        time.sleep(0.5)
    print(since_last_ack_s(client))
""")


@pytest.mark.skipif(netns.unavailable() is not None, reason=str(netns.unavailable()))
def test_cut_link__nothing_acknowledged_since_the_cut():
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", CUT_LINK, str(ROOT)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split()[-1]) >= 2.9


CLOSE_CUT_LINK = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[1] + "/tests")
    from contextlib import AsyncExitStack
    import trio
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.custom_types import TProtocol
    from libp2p.peer.peerinfo import PeerInfo
    from hosts import netns
    from services.peers.host import listen_addr, make_host
    from services.peers.tcp_link import shut_down

    SINK = TProtocol("/test/sink/1")
    netns.bring_up_loopback()

    async def close_after_cut(shut_down_first):
        async with AsyncExitStack() as stack:
            a, b = (make_host(create_new_key_pair(), "ab" * 32) for _ in range(2))
            async def reads_nothing(stream):
                await trio.sleep(3600)
            b.set_stream_handler(SINK, reads_nothing)
            await stack.enter_async_context(a.run([listen_addr("127.0.0.2", 0)]))
            await stack.enter_async_context(b.run([listen_addr("127.0.0.3", 0)]))
            await a.connect(PeerInfo(b.get_id(), b.get_addrs()))
            stream = await a.new_stream(b.get_id(), [SINK])
            netns.cut_off("127.0.0.3")
            async with trio.open_nursery() as nursery:
                async def traffic():  # a loaded peer's writes, never acknowledged now
                    try:
                        while True:
                            await stream.write(b"x" * 65_536)
                    except Exception:
                        pass
                nursery.start_soon(traffic)
                await trio.sleep(2)  # the send buffer fills
                if shut_down_first:
                    for connection in a.get_network().get_connections(b.get_id()):
                        assert shut_down(connection)
                with trio.move_on_after(2):
                    await a.disconnect(b.get_id())
                still = b.get_id() in a.get_connected_peers()
                nursery.cancel_scope.cancel()
            netns.heal()
            return still

    print(trio.run(close_after_cut, False), trio.run(close_after_cut, True))
""")


@pytest.mark.skipif(netns.unavailable() is not None, reason=str(netns.unavailable()))
def test_cut_link_with_data_waiting__closes_only_once_shut_down():
    """py-libp2p's close writes a goodbye first: into a cut link's full send buffer it waits
    until TCP gives up, and a bounded close leaves the connection listed as connected (the
    first print). Shut down first, the same close completes (the second)."""
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", CLOSE_CUT_LINK, str(ROOT)],
                          capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["True", "False"]
