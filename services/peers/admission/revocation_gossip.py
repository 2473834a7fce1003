"""Spreads the operator's revocation list: each peer re-reads its file every `revocation_poll_s`
and publishes the newest list it knows on its own topic; any peer adopts a list the operator
signed with a higher seq (and writes it to its file). Dropping a new list on one peer is enough."""

from __future__ import annotations

import json
import logging

import trio

from services.peers.admission.revocation import Revocations

TOPIC = "pulseledger/revocations/1"
log = logging.getLogger(__name__)


async def spread_revocations(pubsub, revocations: Revocations, poll_s: float,
                             task_status=trio.TASK_STATUS_IGNORED) -> None:
    subscription = await pubsub.subscribe(TOPIC)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_adopt_heard, subscription, revocations)
        task_status.started()
        while True:
            revocations.reload_if_changed()
            document = revocations.current.document
            if document is not None:
                try:
                    await pubsub.publish(TOPIC, json.dumps(document).encode())
                except Exception as exc:  # noqa: BLE001
                    log.debug("revocation publish failed: %s", type(exc).__name__)
            await trio.sleep(poll_s)


async def _adopt_heard(subscription, revocations: Revocations) -> None:
    while True:
        message = await subscription.get()
        try:
            revocations.adopt_document(json.loads(message.data))
        except ValueError:
            continue  # not JSON: nothing to adopt
