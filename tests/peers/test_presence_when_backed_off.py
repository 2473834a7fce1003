"""A peer whose mesh emptied while it and every neighbour back each other off (mesh churn after a
neighbour's restart, seen in the chaos matrix) still hears their presence notes and is heard by
them, through gossip (IHAVE/IWANT), until the backoff ends and it grafts back
(services/peers/gossip_router.py). py-libp2p 0.8.1 left backed-off peers out of gossip too: such
a peer was cut off for the backoff's minute. Real libp2p hosts on 127.0.0.1."""

from contextlib import AsyncExitStack

import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.peerinfo import PeerInfo

from services.peers.membership import TOPIC

from .gossip_hosts import gossip_host, join, received
from .helpers import wait_for


def _back_off_each_other(router, peer_id, neighbours) -> None:
    """As a round of prunes between the peer and each neighbour leaves their tables."""
    router.mesh[TOPIC].clear()
    for host, other_router, _, _ in neighbours:
        router._add_back_off(host.get_id(), TOPIC, False)
        other_router.mesh[TOPIC].discard(peer_id)
        other_router._add_back_off(peer_id, TOPIC, False)


def test_peer_out_of_every_mesh_and_backed_off__still_hears_and_is_heard():
    async def scenario():
        async with AsyncExitStack() as stack:
            neighbours = [await gossip_host(stack, create_new_key_pair()) for _ in range(3)]
            for index, (host, *_) in enumerate(neighbours):  # the neighbours' own mesh
                for other, *_ in neighbours[index + 1:]:
                    await host.connect(PeerInfo(other.get_id(), other.get_addrs()))
            host, router, pubsub, subscription = await join(stack, create_new_key_pair(),
                                                             neighbours)
            peer_id = host.get_id()
            _back_off_each_other(router, peer_id, neighbours)

            heard_by_neighbours = [[] for _ in neighbours]
            heard_by_peer: list[bytes] = []
            async with trio.open_nursery() as nursery:
                for (*_, their_subscription), into in zip(neighbours, heard_by_neighbours):
                    nursery.start_soon(received, their_subscription, into)
                nursery.start_soon(received, subscription, heard_by_peer)
                await pubsub.publish(TOPIC, b"note-of-the-cut-off-peer")
                await neighbours[0][2].publish(TOPIC, b"note-of-a-neighbour")
                assert await wait_for(
                    lambda: all(b"note-of-the-cut-off-peer" in h for h in heard_by_neighbours)
                    and b"note-of-a-neighbour" in heard_by_peer, 10)
                nursery.cancel_scope.cancel()
            # by gossip, not by a graft: the backoffs still hold and nobody meshes with it
            assert not router.mesh[TOPIC]
            assert all(peer_id not in r.mesh[TOPIC] for _, r, _, _ in neighbours)

    trio.run(scenario)
