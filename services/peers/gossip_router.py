"""py-libp2p's gossipsub router with three changes to how it backs off peers (py-libp2p 0.8.1).

**Backoff after our own prune.** Gossipsub v1.1 says both ends of a PRUNE keep away from each other
for the backoff period. In py-libp2p 0.8.1 the heartbeat that trims an oversubscribed mesh sends
PRUNE without recording a backoff for the pruned peer on the pruning side (`mesh_heartbeat`; the
score-based replacement and `handle_graft` do record one). So when the mesh then fell below its
low mark, the next heartbeat (1 s) grafted the very peer it had just pruned; that peer, which
honours the PRUNE's backoff, answered with "GRAFT flood detected … applying penalty" or "GRAFT:
ignoring request … back off" and a PRUNE of its own: a warning per pair and heartbeat in clusters
with more peers than the mesh's high mark (issue 18), and meshes that churned instead of settling.

**A reconnected peer starts with no backoff.** Backoffs outlive a connection in py-libp2p: a
peer killed and restarted under its peer id within the backoff (60 s) found its GRAFTs refused
by every peer that had pruned it, and with an empty mesh its presence notes went to nobody — for
about a minute the rest of the network took it for dead and it took itself for the only
aggregator (seen in the chaos kill matrix). A new connection is a new incarnation of the peer
(admitted again, `admission/gate.py`), so the backoffs we held against the old one are dropped
when it joins pubsub again. Publishing our own notes to every subscriber instead (v1.1's flood
publishing) would also have fixed it, and was measured and dropped: an idle 8-process cluster
took 201% CPU of two cores with it, 54–137% (from run to run) without.

**Gossip (IHAVE) ignores backoff.** A backoff is about the mesh: gossipsub v1.1 forbids a GRAFT to
a backed-off peer, and nothing else. py-libp2p 0.8.1 also leaves backed-off peers out of the
heartbeat's IHAVE gossip (`_handle_topic_heartbeat` selects with `backoff_check=True`). A peer
whose mesh emptied while it and its neighbours backed each other off (mesh churn after a
neighbour's restart; degree 3 of 7 peers prunes often) then heard nothing and was heard by
nobody for the backoff's minute, though connected and admitted to every one of them: in the chaos
matrix an aggregator's view held only itself for 42–80 s while its close rounds failed with
`NoPeerForRole`. With gossip to every subscribed peer outside the mesh, as the spec has it, such
a peer still hears and is heard within a heartbeat or two, and grafts back when the backoff ends.
"""

from __future__ import annotations

from collections import defaultdict

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub


class PresenceGossipRouter(GossipSub):
    def mesh_heartbeat(self) -> tuple[defaultdict[ID, list[str]], defaultdict[ID, list[str]]]:
        peers_to_graft, peers_to_prune = super().mesh_heartbeat()
        for peer, topics in peers_to_prune.items():
            for topic in topics:
                self._add_back_off(peer, topic, False)
        return peers_to_graft, peers_to_prune

    def gossip_heartbeat(self) -> defaultdict[ID, dict[str, list[bytes]]]:
        """The peers to send IHAVE to, per topic: py-libp2p's choice (how many, at random, of
        the topic's gossipsub peers outside the mesh or fanout) without its backoff filter."""
        peers_to_gossip: defaultdict[ID, dict[str, list[bytes]]] = defaultdict(dict)
        topics = dict(self.fanout)
        topics.update(self.mesh)  # a topic in both is gossiped around its mesh, as upstream
        for topic, around in topics.items():
            if topic not in self.pubsub.peer_topics:
                continue
            msg_ids = self.mcache.window(topic)
            if not msg_ids:
                continue
            outside = len(self.pubsub.peer_topics[topic]) - len(around)
            count = self._get_adaptive_gossip_peers_count(topic, outside)
            for peer in self._get_in_topic_gossipsub_peers_from_minus(topic, count, around):
                peers_to_gossip[peer][topic] = list(msg_ids)
        return peers_to_gossip

    def add_peer(self, peer_id: ID, protocol_id) -> None:
        """A peer (re)joining: whatever backoff its previous connection earned is dropped."""
        super().add_peer(peer_id, protocol_id)
        for backed_off in self.back_off.values():
            backed_off.pop(peer_id, None)
