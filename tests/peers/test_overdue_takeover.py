"""No silent loss behind an admitted aggregator that acknowledges readings and then never sends
their windows on (stuck, broken or dishonest): its replica, which holds every reading the primary
acknowledged, closes those windows itself once they are overdue (services/peers/overdue.py).
Real libp2p hosts on 127.0.0.1, several peers in one process."""

import trio

from services.ingest.queues.local import LocalQueue
from services.peers.node import PeerNode

from .helpers import Workload, ingest_settings, peer_settings, stored_keys, wait_for


def test_a_primary_that_never_closes__its_replica_delivers_every_reading_once(tmp_path):
    workload = Workload(tmp_path, devices=8, seconds=15)
    queue = LocalQueue(tmp_path / "queue.db")
    queue.send(workload.valid_messages)
    store, owners = workload.store, [d.owner for d in workload.fleet]
    overdue = {"takeover_after_s": 2.0}

    async def main():
        async with trio.open_nursery() as nursery:
            services = PeerNode(peer_settings(tmp_path, "a", ["master", "prediction", "storage",
                                                              "notification"], **overdue),
                                ingest_settings(tmp_path))
            await nursery.start(services.run)
            negligent = PeerNode(peer_settings(tmp_path, "b", ["aggregation"],
                                               [services.address], **overdue))
            honest = PeerNode(peer_settings(tmp_path, "c", ["aggregation"], [services.address],
                                            **overdue))
            await nursery.start(negligent.run)
            negligent.roles["aggregation"].closable = lambda device: False  # acks, never closes
            await nursery.start(honest.run)
            done = await wait_for(lambda: queue.depth() == 0 and set(stored_keys(
                store, owners)) == workload.valid_keys, 60, poll_s=0.2)
            await trio.sleep(1.0)  # a second copy still in flight would land now
            nursery.cancel_scope.cancel()
        return done, honest.roles["aggregation"].taken_over, negligent.roles["aggregation"]

    done, taken_over, negligent = trio.run(main)
    assert done
    counted = stored_keys(store, owners)
    assert max(counted.values()) == 1
    assert taken_over > 0 and negligent.closed_windows == 0
    assert [d.reason for d in store.dead_letters("reading")] == []
