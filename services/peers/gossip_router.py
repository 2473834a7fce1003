"""py-libp2p's gossipsub router with two gossipsub v1.1 behaviours that 0.8.1 lacks.

**Backoff after our own prune.** Gossipsub v1.1 says both ends of a PRUNE keep away from each other
for the backoff period. In py-libp2p 0.8.1 the heartbeat that trims an oversubscribed mesh sends
PRUNE without recording a backoff for the pruned peer on the pruning side (`mesh_heartbeat`; the
score-based replacement and `handle_graft` do record one). So when the mesh then fell below its
low mark, the next heartbeat (1 s) grafted the very peer it had just pruned; that peer, which
honours the PRUNE's backoff, answered with "GRAFT flood detected … applying penalty" or "GRAFT:
ignoring request … back off" and a PRUNE of its own: a warning per pair and heartbeat in clusters
with more peers than the mesh's high mark (issue 18), and meshes that churned instead of settling.

**Flood publishing.** A peer sends the messages it publishes itself to every peer subscribed to
the topic, not only to its mesh (v1.1's `floodPublish`, on by default in go-libp2p). Backoffs
outlive a connection by design: a peer killed and restarted within the backoff (60 s) under the
same peer id finds its GRAFTs refused by every peer that had pruned it, and with an empty mesh
py-libp2p sent its presence notes to nobody — for a minute the rest of the network took it for
dead and it took itself for the only aggregator, accepting readings alone into windows its
partner then closed without them (the chaos kill matrix's late dead letters). Presence is the
liveness signal: a peer's own notes must reach every peer it is connected to, whatever the mesh.
Forwarding others' messages still follows the mesh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub


class PresenceGossipRouter(GossipSub):
    def mesh_heartbeat(self) -> tuple[defaultdict[ID, list[str]], defaultdict[ID, list[str]]]:
        peers_to_graft, peers_to_prune = super().mesh_heartbeat()
        for peer, topics in peers_to_prune.items():
            for topic in topics:
                self._add_back_off(peer, topic, False)
        return peers_to_graft, peers_to_prune

    def _get_peers_to_send(self, topic_ids: Iterable[str], msg_forwarder: ID, origin: ID,
                           msg_id: bytes | None = None) -> Iterator[ID]:
        topic_ids = list(topic_ids)
        peers = set(super()._get_peers_to_send(topic_ids, msg_forwarder, origin, msg_id))
        if self.pubsub is not None and origin == self.pubsub.my_id:
            for topic in topic_ids:
                peers.update(peer for peer in self.pubsub.peer_topics.get(topic, ())
                             if self.peer_protocol.get(peer) in self.protocols)
            peers.discard(origin)
        yield from peers
