"""Pubsub that opens its gossip stream to a peer only once the peer is admitted: without this,
py-libp2p starts sending every topic's messages to anyone who connects. (Inbound gossip streams
are guarded like every other protocol: AdmissionGate.guard_handlers.)

Also: a topic whose validator takes every message (presence: membership.py) is not copied into
its subscription channel. py-libp2p's channel holds 32 messages; a starved peer's drain task fell
behind on bursts and the library logged "fail to deliver message to subscription" for each
message over (0–2,294 per chaos run), although the validator had already taken them all."""

from __future__ import annotations

import logging

import trio
from libp2p.peer.id import ID

from services.peers.pubsub_seqno import ClockSeqnoPubsub

log = logging.getLogger(__name__)


class GatedPubsub(ClockSeqnoPubsub):
    def __init__(self, host, router, gate, **kwargs):
        super().__init__(host, router, **kwargs)
        self.gate = gate
        self.validator_only: set[str] = set()  # topics whose validator takes every message

    async def _handle_new_peer(self, peer_id: ID) -> None:
        if await self.gate.admit(peer_id.to_base58()) is None:
            return  # refused and disconnected; a new connection starts over
        await super()._handle_new_peer(peer_id)

    def notify_subscriptions(self, publish_message) -> None:
        """Pubsub's, without the copy for validator-only topics (see the module docstring)."""
        for topic in publish_message.topicIDs:
            if topic in self.topic_ids and topic not in self.validator_only:
                try:
                    self.subscribed_topics_send[topic].send_nowait(publish_message)
                except trio.WouldBlock:  # the subscriber is behind: the message is dropped
                    log.warning("subscription to %s is %d messages behind: message dropped",
                                topic, self.subscribed_topics_send[topic].statistics()
                                .current_buffer_used)
