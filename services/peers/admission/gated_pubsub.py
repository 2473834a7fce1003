"""Pubsub that opens its gossip stream to a peer only once the peer is admitted: without this,
py-libp2p starts sending every topic's messages to anyone who connects. (Inbound gossip streams
are guarded like every other protocol: AdmissionGate.guard_handlers.)"""

from __future__ import annotations

from libp2p.peer.id import ID
from libp2p.pubsub.pubsub import Pubsub


class GatedPubsub(Pubsub):
    def __init__(self, host, router, gate, **kwargs):
        super().__init__(host, router, **kwargs)
        self.gate = gate

    async def _handle_new_peer(self, peer_id: ID) -> None:
        if await self.gate.admit(peer_id.to_base58()) is None:
            return  # refused and disconnected; a new connection starts over
        await super()._handle_new_peer(peer_id)
