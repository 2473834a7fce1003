"""The presence router (services/peers/gossip_router.py) backs off the peers its own heartbeat
prunes, and sends what it publishes itself to every subscribed peer, whatever its mesh.

Both are decisions over the router's own tables, so they are driven here directly: the mesh churn that made peers log "GRAFT flood detected" needs more peers than the
mesh's high mark grafting at once, which a test cannot make happen on demand with real hosts. The
pubsub the router reads (`peer_topics`, which peers subscribe to what) is a plain table here; the
rest is py-libp2p's own GossipSub.
"""

from types import SimpleNamespace

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, GossipSub

from services.peers.gossip_router import PresenceGossipRouter

TOPIC = "pulseledger/presence/1"
PEERS = [ID(bytes([0, 32]) + bytes([i]) * 32) for i in range(1, 9)]
ME = ID(bytes([0, 32]) + bytes([99]) * 32)


def _router(kind):
    router = kind([PROTOCOL_ID_V11], degree=3, degree_low=2, degree_high=5, heartbeat_interval=1,
                  spam_protection_enabled=False, eclipse_protection_enabled=False)
    router.pubsub = SimpleNamespace(peer_topics={TOPIC: set(PEERS)}, my_id=ME)
    router.peer_protocol = {peer: PROTOCOL_ID_V11 for peer in PEERS}
    router.mesh[TOPIC] = set(PEERS)  # eight peers grafted us: above the high mark of five
    return router


def _prune_then_shrink(router):
    _, pruned = router.mesh_heartbeat()
    pruned_peers = {peer for peer, topics in pruned.items() if TOPIC in topics}
    assert len(pruned_peers) == len(PEERS) - 3 and len(router.mesh[TOPIC]) == 3
    left = set(list(router.mesh[TOPIC])[:2])  # two mesh peers go away: below the low mark
    router.mesh[TOPIC] -= left
    router.pubsub.peer_topics[TOPIC] -= left
    grafted, _ = router.mesh_heartbeat()
    return pruned_peers, {peer for peer, topics in grafted.items() if TOPIC in topics}


def test_heartbeat_prune__pruned_peers_backed_off__not_grafted_again_next_heartbeat():
    router = _router(PresenceGossipRouter)
    pruned, grafted = _prune_then_shrink(router)
    assert all(router._check_back_off(peer, TOPIC) for peer in pruned)
    assert not grafted  # the only candidates left are the peers it pruned, backed off


def test_py_libp2p_router__grafts_the_peer_it_just_pruned():
    """Why the subclass exists; when py-libp2p fixes its heartbeat this fails, and
    gossip_router.py can go."""
    pruned, grafted = _prune_then_shrink(_router(GossipSub))
    assert grafted and grafted <= pruned


def _backed_off_everywhere(kind):
    """A peer restarted under its id: every peer that had pruned it refused its GRAFTs, so its
    mesh is empty (and it backs off from them in turn)."""
    router = _router(kind)
    router.mesh[TOPIC] = set()
    for peer in PEERS:
        router._add_back_off(peer, TOPIC, False)
    return router


def test_own_message__empty_mesh__sent_to_every_subscribed_peer():
    router = _backed_off_everywhere(PresenceGossipRouter)
    assert set(router._get_peers_to_send([TOPIC], msg_forwarder=ME, origin=ME)) == set(PEERS)


def test_own_message__peer_not_speaking_gossipsub_or_not_subscribed__not_sent_to():
    router = _backed_off_everywhere(PresenceGossipRouter)
    router.peer_protocol[PEERS[0]] = "/floodsub/1.0.0"  # floodsub peers are py-libp2p's own case
    router.pubsub.peer_topics[TOPIC].discard(PEERS[1])
    sent = set(router._get_peers_to_send([TOPIC], msg_forwarder=ME, origin=ME))
    assert PEERS[1] not in sent and sent >= set(PEERS[2:])


def test_forwarded_message__follows_the_mesh_only():
    router = _router(PresenceGossipRouter)
    router.mesh[TOPIC] = set(PEERS[:3])
    origin = PEERS[7]
    sent = set(router._get_peers_to_send([TOPIC], msg_forwarder=PEERS[0], origin=origin))
    assert sent == set(PEERS[1:3])  # neither back to its forwarder nor to its origin


def test_py_libp2p_router__own_message_with_empty_mesh__sent_to_nobody():
    """Why flood publishing is there: a restarted peer's presence notes went nowhere."""
    router = _backed_off_everywhere(GossipSub)
    assert set(router._get_peers_to_send([TOPIC], msg_forwarder=ME, origin=ME)) == set()
