"""A peer killed and restarted under its peer id while its neighbours still back it off (they had
pruned it) is grafted into their meshes again, and its presence notes reach them
(services/peers/gossip_router.py). Real libp2p hosts on 127.0.0.1 with our router and plain
pubsub: admission is not what this is about (tests/peers/test_admission*.py)."""

from contextlib import AsyncExitStack

import trio
from libp2p.crypto.ed25519 import create_new_key_pair

from services.peers.membership import TOPIC

from .gossip_hosts import gossip_host, join, received
from .helpers import wait_for


def test_restarted_peer_its_neighbours_backed_off__grafted_again_and_heard():
    async def scenario():
        async with AsyncExitStack() as stack:
            neighbours = [await gossip_host(stack, create_new_key_pair()) for _ in range(2)]
            key_pair = create_new_key_pair()
            async with AsyncExitStack() as first_life:
                host = (await join(first_life, key_pair, neighbours))[0]
                peer_id = host.get_id()
                for other, *_ in neighbours:  # killed: the kernel closes its connections
                    await host.get_network().close_peer(other.get_id())
            assert await wait_for(lambda: all(peer_id not in p.peer_topics.get(TOPIC, ())
                                              for _, _, p, _ in neighbours), 10)
            for _, router, _, _ in neighbours:  # as their heartbeats' prune of it left them
                router._add_back_off(peer_id, TOPIC, False)

            _, _, pubsub, _ = await join(stack, key_pair, neighbours)  # restarted, same id
            assert await wait_for(lambda: all(peer_id in r.mesh.get(TOPIC, ())
                                              for _, r, _, _ in neighbours), 10)
            heard = [[] for _ in neighbours]
            async with trio.open_nursery() as nursery:
                for (*_, subscription), into in zip(neighbours, heard):
                    nursery.start_soon(received, subscription, into)
                await pubsub.publish(TOPIC, b"note-after-restart")
                assert await wait_for(lambda: all(b"note-after-restart" in h for h in heard), 10)
                nursery.cancel_scope.cancel()

    trio.run(scenario)
