"""A peer restarted under its peer id is heard at once, however much it published in its previous
life (services/peers/pubsub_seqno.py). py-libp2p numbers a peer's messages from the wall clock's
second at start and counts up by one a message; gossip knows a message by (sender, number) and
forgets it after two minutes. A peer that published faster than once a second had numbered past
the clock, so its next life reused numbers the others had seen: its presence notes were dropped as
duplicates until the count passed the old one. Real libp2p hosts on 127.0.0.1."""

from contextlib import AsyncExitStack

import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.pubsub.pubsub import Pubsub

from services.peers.membership import TOPIC
from services.peers.pubsub_seqno import ClockSeqnoPubsub

from .gossip_hosts import gossip_host, join, received
from .helpers import wait_for

PREVIOUS_LIFE_MESSAGES = 60  # a minute of notes at 0.25 s, or a busy revocation topic


async def _heard_after_restart(pubsub_class) -> bool:
    async with AsyncExitStack() as stack:
        neighbours = [await gossip_host(stack, create_new_key_pair(), pubsub_class)
                      for _ in range(2)]
        key_pair = create_new_key_pair()
        heard = [[] for _ in neighbours]
        async with trio.open_nursery() as nursery:
            for (*_, subscription), into in zip(neighbours, heard):
                nursery.start_soon(received, subscription, into)
            async with AsyncExitStack() as first_life:
                host, _, pubsub, _ = await join(first_life, key_pair, neighbours, pubsub_class)
                for n in range(PREVIOUS_LIFE_MESSAGES):
                    await pubsub.publish(TOPIC, b"previous-life-%d" % n)
                    await trio.sleep(0.01)  # a subscription channel holds 32
                assert await wait_for(lambda: all(
                    b"previous-life-%d" % (PREVIOUS_LIFE_MESSAGES - 1) in h for h in heard), 10)
                for other, *_ in neighbours:  # killed: the kernel closes its connections
                    await host.get_network().close_peer(other.get_id())
            peer_id = host.get_id()
            assert await wait_for(lambda: all(peer_id not in p.peer_topics.get(TOPIC, ())
                                              for _, _, p, _ in neighbours), 10)
            async with AsyncExitStack() as second_life:  # restarted under the same key
                host, _, pubsub, _ = await join(second_life, key_pair, neighbours, pubsub_class)
                assert await wait_for(lambda: all(host.get_id() in r.mesh.get(TOPIC, ())
                                                  for _, r, _, _ in neighbours), 10)
                await pubsub.publish(TOPIC, b"first-note-of-the-new-life")
                arrived = await wait_for(
                    lambda: all(b"first-note-of-the-new-life" in h for h in heard), 5)
            nursery.cancel_scope.cancel()
        return arrived


def test_restarted_peer_that_published_fast__its_first_note_heard():
    assert trio.run(_heard_after_restart, ClockSeqnoPubsub)


def test_py_libp2p_pubsub__drops_the_restarted_peers_first_note_as_seen():
    """Why the subclass exists; when py-libp2p numbers otherwise this fails, and it can go."""
    assert not trio.run(_heard_after_restart, Pubsub)
