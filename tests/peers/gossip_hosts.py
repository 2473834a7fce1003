"""Real libp2p hosts on 127.0.0.1 running the presence router (services/peers/gossip_router.py)
over plain pubsub, for the tests of how gossip behaves when peers back each other off. Admission
is not what these are about (tests/peers/test_admission*.py)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service

from services.peers.host import listen_addr, make_host
from services.peers.membership import TOPIC, make_gossipsub
from services.peers.settings import PeersSettings

from .helpers import wait_for


async def gossip_host(stack: AsyncExitStack, key_pair, pubsub_class=Pubsub):
    """(host, router, pubsub, subscription to the presence topic)."""
    host = make_host(key_pair)
    await stack.enter_async_context(host.run([listen_addr("127.0.0.1", 0)]))
    router = make_gossipsub(PeersSettings())
    pubsub = pubsub_class(host, router)
    await stack.enter_async_context(background_trio_service(pubsub))
    await stack.enter_async_context(background_trio_service(router))
    await pubsub.wait_until_ready()
    return host, router, pubsub, await pubsub.subscribe(TOPIC)


async def join(stack: AsyncExitStack, key_pair, neighbours, pubsub_class=Pubsub):
    """A peer with this key, connected to the neighbours and known to them as subscribed."""
    host, router, pubsub, subscription = await gossip_host(stack, key_pair, pubsub_class)
    for other, *_ in neighbours:
        await host.connect(PeerInfo(other.get_id(), other.get_addrs()))
    assert await wait_for(lambda: all(host.get_id() in p.peer_topics.get(TOPIC, ())
                                      for _, _, p, _ in neighbours), 10)
    return host, router, pubsub, subscription


async def received(subscription, into: list) -> None:
    """Append every message's data the subscription delivers to `into` (until cancelled)."""
    while True:
        into.append((await subscription.get()).data)
