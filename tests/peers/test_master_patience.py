"""An outage of every aggregator costs the queue's messages no deliveries: the master keeps
routing the batch it pulled (its locks renewed) until an aggregator acknowledges it, instead of
giving it back until max_delivery_count parks good readings as poison. Real libp2p hosts on
127.0.0.1, two peers in one process; the aggregator's outage is its ingest handler answering
that it is no user's primary (as one with a half-formed view does) for a while."""

import time

import trio

from services.ingest.queues.local import LocalQueue
from services.peers.messages.agg_ingest import OP as INGEST
from services.peers.messages.agg_ingest import IngestReply
from services.peers.node import PeerNode

from .helpers import Workload, ingest_settings, peer_settings, stored_keys, wait_for

SERVICES = ["master", "prediction", "storage", "notification"]
OUTAGE_S = 6.0  # several times lock_s (2 s): before, each lock_s / 2 cost every message a delivery


def test_aggregators_out_longer_than_the_lock__no_reading_parked_all_stored_once(tmp_path):
    workload = Workload(tmp_path, devices=4, seconds=8)
    queue = LocalQueue(tmp_path / "queue.db", max_delivery_count=2)
    store, owners = workload.store, [d.owner for d in workload.fleet]

    async def main():
        async with trio.open_nursery() as nursery:
            services = PeerNode(peer_settings(tmp_path, "a", SERVICES),
                                ingest_settings(tmp_path, max_delivery_count=2))
            await nursery.start(services.run)
            aggregator = PeerNode(peer_settings(tmp_path, "b", ["aggregation"], [services.address]))
            await nursery.start(aggregator.run)
            handle_ingest = aggregator.rpc.handlers[INGEST]
            back_at = time.monotonic() + OUTAGE_S

            async def out_then_back(request, caller):
                if time.monotonic() < back_at:
                    return IngestReply({}, [[r["userId"], r["seq"]] for r in request.readings])
                return await handle_ingest(request, caller)

            aggregator.rpc.handlers[INGEST] = out_then_back
            assert await wait_for(lambda: services.membership.live("aggregation"), 20)
            queue.send(workload.valid_messages)
            done = await wait_for(lambda: set(stored_keys(store, owners)) >= workload.valid_keys
                                  and queue.depth() == 0, 60, 0.2)
            nursery.cancel_scope.cancel()
        return done

    assert trio.run(main)
    assert queue.dead_lettered() == []
    assert max(stored_keys(store, owners).values()) == 1
