"""Our hosts dial nobody of their own accord (services/peers/host.py): py-libp2p's auto-connector
would dial every peer in the peerstore, admitted or not; membership decides whom to dial."""

from contextlib import AsyncExitStack

import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair

from services.peers.host import listen_addr, make_host, noise_only


def _connected_after_an_auto_connect_round(make) -> bool:
    async def scenario() -> bool:
        async with AsyncExitStack() as stack:
            a, b = make(create_new_key_pair()), make(create_new_key_pair())
            for host in (a, b):
                await stack.enter_async_context(host.run([listen_addr("127.0.0.1", 0)]))
            a.get_peerstore().add_addrs(b.get_id(), b.get_addrs(), 600)  # known, not dialled
            await a.get_network().auto_connector.maybe_connect()
            with trio.move_on_after(3):
                while b.get_id() not in a.get_connected_peers():
                    await trio.sleep(0.05)
            return b.get_id() in a.get_connected_peers()

    return trio.run(scenario)


def test_our_host__a_peer_in_its_peerstore_is_not_dialled():
    assert not _connected_after_an_auto_connect_round(make_host)


def test_py_libp2p_as_shipped__dials_it():
    """What the replacement takes away (fails, telling us to look again, if py-libp2p stops)."""
    def shipped(key_pair):
        return new_host(key_pair=key_pair, sec_opt=noise_only(key_pair), muxer_preference="YAMUX",
                        enable_mDNS=False, enable_upnp=False)

    assert _connected_after_an_auto_connect_round(shipped)
