"""py-libp2p's gossipsub router with one fix: a peer our heartbeat prunes is backed off on our side.

Gossipsub v1.1 says both ends of a PRUNE keep away from each other for the backoff period. In
py-libp2p 0.8.1 the heartbeat that trims an oversubscribed mesh sends PRUNE without recording a
backoff for the pruned peer on the pruning side (`mesh_heartbeat`; the score-based replacement
and `handle_graft` do record one). So when the mesh then fell below its low mark, the next
heartbeat (1 s) grafted the very peer it had just pruned; that peer, which honours the PRUNE's
backoff, answered with "GRAFT flood detected … applying penalty" or "GRAFT: ignoring request …
back off" and a PRUNE of its own: a warning per pair and heartbeat in clusters with more peers
than the mesh's high mark (issue 18), and meshes that churned instead of settling.
"""

from __future__ import annotations

from collections import defaultdict

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub


class BackOffAfterPrune(GossipSub):
    def mesh_heartbeat(self) -> tuple[defaultdict[ID, list[str]], defaultdict[ID, list[str]]]:
        peers_to_graft, peers_to_prune = super().mesh_heartbeat()
        import os
        if os.environ.get('PL_EXP_NOFIX'):
            return peers_to_graft, peers_to_prune
        for peer, topics in peers_to_prune.items():
            for topic in topics:
                self._add_back_off(peer, topic, False)
        return peers_to_graft, peers_to_prune
