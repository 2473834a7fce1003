"""Spreads the operator's revocation list: each peer re-reads its file every `revocation_poll_s`
and publishes the newest list it knows on its own topic; any peer adopts a list the operator
signed with a higher seq (and writes it to its file). Dropping a new list on one peer is enough.

What is heard is judged by the topic's validator (`HeardLists`), which gossipsub runs once per
new message before it forwards it, so only a list that is new to us and the operator's is passed
on: junk an admitted peer sends stops at its first hop instead of crossing the mesh. Every peer
republishes its list each poll, so most messages carry a seq we have; those are dropped on a
look at their seq, without the signature check. A list that claims a higher seq costs a
signature check, at most `CHECKS_PER_S` a second (bursts of `CHECK_BURST`) per peer that
forwards them: an admitted peer (or a revoked one, before the list that revokes it arrives)
sending forged "newer" lists as fast as it likes gets a few checks a second out of us.

A message the validator drops is, to py-libp2p, one that failed validation: its scorer counts it
against the forwarder. This network leaves the scorer at its permissive defaults (no threshold
refuses anyone: membership.make_gossipsub); one who turns scoring on must weigh this topic's
drops at zero, or honest peers' periodic republishes would count against them."""

from __future__ import annotations

import json
import logging
from collections import Counter

import trio
from libp2p.peer.id import ID

from services.peers.admission.revocation import KIND, Revocations
from services.runtime.token_buckets import TokenBuckets

TOPIC = "pulseledger/revocations/1"
MAX_LIST_BYTES = 1024 * 1024  # ~15,000 revoked serials: far beyond any real list
CHECKS_PER_S, CHECK_BURST = 1.0, 4
_FORWARDERS_KEPT = 1024  # budgets of the peers heard from most lately; others start full
log = logging.getLogger(__name__)


class HeardLists:
    """The revocation topic's validator (module docstring): True adopts and passes a list on."""

    def __init__(self, revocations: Revocations, self_id: str):
        self.revocations = revocations
        self.self_id = self_id
        self.refused: Counter[str] = Counter()
        self._checks = TokenBuckets(CHECKS_PER_S, CHECK_BURST, max_keys=_FORWARDERS_KEPT)

    def __call__(self, forwarder: ID, message) -> bool:
        if ID(message.from_id).to_base58() == self.self_id:
            return True  # our own publish, on its way out
        seq = _claimed_seq(message.data)
        if seq is None:
            self.refused["malformed"] += 1
            return False
        if seq <= self.revocations.current.seq:
            return False  # nothing new (the periodic republish of a list we have): not counted
        if self._checks.take(forwarder.to_base58()) > 0:
            self.refused["rate"] += 1
            return False
        if not self.revocations.adopt_document(json.loads(message.data)):
            self.refused["bad_signature"] += 1
            return False
        return True

    def metrics(self) -> dict:
        return {f'revocation_gossip_refused_total{{reason="{reason}"}}': count
                for reason, count in self.refused.items()}


def _claimed_seq(data: bytes) -> int | None:
    """The seq a message's list claims (unchecked), or None for what is no list."""
    if len(data) > MAX_LIST_BYTES:
        return None
    try:
        seq = json.loads(data)[KIND]["seq"]
    except (ValueError, TypeError, KeyError):
        return None
    return seq if type(seq) is int else None


class RevocationGossip:
    def __init__(self, pubsub, revocations: Revocations, poll_s: float, self_id: str):
        self.pubsub, self.revocations, self.poll_s = pubsub, revocations, poll_s
        self.heard = HeardLists(revocations, self_id)

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.pubsub.set_topic_validator(TOPIC, self.heard, is_async_validator=False)
        self.pubsub.validator_only.add(TOPIC)  # lists are adopted by the validator
        await self.pubsub.subscribe(TOPIC)  # joins the topic's mesh
        task_status.started()
        while True:
            self.revocations.reload_if_changed()
            document = self.revocations.current.document
            if document is not None:
                try:
                    await self.pubsub.publish(TOPIC, json.dumps(document).encode())
                except Exception as exc:  # noqa: BLE001
                    log.debug("revocation publish failed: %s", type(exc).__name__)
            await trio.sleep(self.poll_s)

    def metrics(self) -> dict:
        return self.heard.metrics()
