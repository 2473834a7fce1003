"""A peer whose neighbours still back it off — killed and restarted under its peer id within the
gossipsub backoff — is heard by every peer it is connected to, and hears them (flood publishing,
services/peers/gossip_router.py). Real libp2p hosts on 127.0.0.1 with our router and plain
pubsub: admission is not what this is about (tests/peers/test_admission*.py)."""

from contextlib import AsyncExitStack

import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service

from services.peers.host import listen_addr, make_host
from services.peers.membership import TOPIC, make_gossipsub
from services.peers.settings import PeersSettings

from .helpers import wait_for


async def _gossip_host(stack: AsyncExitStack):
    host = make_host(create_new_key_pair())
    await stack.enter_async_context(host.run([listen_addr("127.0.0.1", 0)]))
    router = make_gossipsub(PeersSettings())
    pubsub = Pubsub(host, router)
    await stack.enter_async_context(background_trio_service(pubsub))
    await stack.enter_async_context(background_trio_service(router))
    await pubsub.wait_until_ready()
    return host, router, pubsub, await pubsub.subscribe(TOPIC)


async def _received(subscription, into: list) -> None:
    while True:
        into.append((await subscription.get()).data)


def test_restarted_peer_backed_off_by_all__its_notes_and_theirs_still_arrive():
    async def scenario():
        async with AsyncExitStack() as stack:
            hosts = [await _gossip_host(stack) for _ in range(3)]
            restarted, its_router, its_pubsub, _ = hosts[0]
            for other, *_ in hosts[1:]:
                await restarted.connect(PeerInfo(other.get_id(), other.get_addrs()))
            ids = [h.get_id() for h, *_ in hosts]
            assert await wait_for(lambda: set(ids[1:]) <= its_pubsub.peer_topics.get(TOPIC, set())
                                  and all(ids[0] in p.peer_topics.get(TOPIC, ())
                                          for _, _, p, _ in hosts[1:]), 10)
            # What a restart within the backoff leaves: every neighbour refuses its GRAFT and it
            # backs off from them in turn, so its mesh stays empty.
            for _, router, _, _ in hosts[1:]:
                router.mesh.get(TOPIC, set()).discard(ids[0])
                router._add_back_off(ids[0], TOPIC, False)
            its_router.mesh[TOPIC] = set()
            for peer in ids[1:]:
                its_router._add_back_off(peer, TOPIC, False)

            heard = [[] for _ in hosts]
            async with trio.open_nursery() as nursery:
                for (_, _, _, sub), into in zip(hosts, heard):
                    nursery.start_soon(_received, sub, into)
                await its_pubsub.publish(TOPIC, b"restarted-note")
                await hosts[1][2].publish(TOPIC, b"neighbour-note")
                assert await wait_for(lambda: b"restarted-note" in heard[1]
                                      and b"restarted-note" in heard[2]
                                      and b"neighbour-note" in heard[0], 10)
                assert its_router.mesh[TOPIC] == set()  # delivered around the mesh, not through it
                nursery.cancel_scope.cancel()

    trio.run(scenario)
