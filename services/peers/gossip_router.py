"""py-libp2p's gossipsub router with two changes to how it backs off peers (py-libp2p 0.8.1).

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

    def add_peer(self, peer_id: ID, protocol_id) -> None:
        """A peer (re)joining: whatever backoff its previous connection earned is dropped."""
        super().add_peer(peer_id, protocol_id)
        for backed_off in self.back_off.values():
            backed_off.pop(peer_id, None)
