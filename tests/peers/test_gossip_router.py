"""The presence router (services/peers/gossip_router.py) backs off the peers its own heartbeat
prunes, and drops the backoff of a peer that joins again (a restart under the same peer id).

Both are decisions over the router's own tables, so they are driven here directly: the mesh churn that made peers log "GRAFT flood detected" needs more peers than the
mesh's high mark grafting at once, which a test cannot make happen on demand with real hosts. The
pubsub the router reads (`peer_topics`, which peers subscribe to what) is a plain table here; the
rest is py-libp2p's own GossipSub.
"""

from types import SimpleNamespace

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, GossipSub
from libp2p.pubsub.pb.rpc_pb2 import Message

from services.peers.gossip_router import PresenceGossipRouter

TOPIC = "pulseledger/presence/1"
PEERS = [ID(bytes([0, 32]) + bytes([i]) * 32) for i in range(1, 9)]


def _router(kind):
    router = kind([PROTOCOL_ID_V11], degree=3, degree_low=2, degree_high=5, heartbeat_interval=1,
                  spam_protection_enabled=False, eclipse_protection_enabled=False)
    router.pubsub = SimpleNamespace(peer_topics={TOPIC: set(PEERS)})
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



def test_peer_joins_again__backoff_of_its_previous_connection_dropped():
    router = _router(PresenceGossipRouter)
    restarted = PEERS[0]
    router.remove_peer(restarted)  # killed: its connection closed
    router._add_back_off(restarted, TOPIC, False)  # as our heartbeat's prune of it left it
    router._add_back_off(PEERS[1], TOPIC, False)
    router.add_peer(restarted, PROTOCOL_ID_V11)  # restarted under the same id, connected again
    assert not router._check_back_off(restarted, TOPIC)
    assert router._check_back_off(PEERS[1], TOPIC)  # the others' backoffs stand


def test_py_libp2p_router__keeps_the_backoff_across_a_reconnection():
    """Why add_peer is overridden: a restarted peer's GRAFTs were refused for 60 s."""
    router = _router(GossipSub)
    router.remove_peer(PEERS[0])
    router._add_back_off(PEERS[0], TOPIC, False)
    router.add_peer(PEERS[0], PROTOCOL_ID_V11)
    assert router._check_back_off(PEERS[0], TOPIC)


def _backed_off_outside_an_empty_mesh(kind):
    """Every peer of the topic backed off and none in the mesh: an isolated peer's tables."""
    router = _router(kind)
    router.mesh[TOPIC] = set()
    for peer in PEERS:
        router._add_back_off(peer, TOPIC, False)
    router.mcache.put(Message(from_id=PEERS[0].to_bytes(), seqno=b"\x00" * 8, data=b"note",
                              topicIDs=[TOPIC]))
    return router


def test_gossip__backed_off_peers_still_get_ihave():
    gossiped = _backed_off_outside_an_empty_mesh(PresenceGossipRouter).gossip_heartbeat()
    assert set(gossiped) <= set(PEERS) and len(gossiped) == 6  # py-libp2p's least count
    assert all(list(topics) == [TOPIC] for topics in gossiped.values())


def test_py_libp2p_router__gossips_to_no_backed_off_peer():
    """Why gossip_heartbeat is overridden: a peer backed off by all was heard by nobody."""
    assert not _backed_off_outside_an_empty_mesh(GossipSub).gossip_heartbeat()
