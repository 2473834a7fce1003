"""No silent loss behind a primary aggregator that acknowledges readings without replicating
them: a master counts a reading acknowledged only under a replica's signed receipt
(services/peers/receipts.py). Real libp2p hosts on 127.0.0.1, several peers in one process; the
misbehaving primary is an admitted aggregator whose replication step is replaced."""

import json

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from pulseledger_testkit.admission import DIGEST_KEY, OPERATOR

from services.ingest.queues.local import LocalQueue
from services.peers.admission.credential import issue
from services.peers.messages.agg_ingest import IngestReply, IngestRequest
from services.peers.node import PeerNode
from services.peers.receipts import sign_receipt
from services.peers.window_store import row_digest

from .helpers import (
    Workload,
    dead_letter_reasons,
    ingest_settings,
    peer_settings,
    stored_keys,
    wait_for,
)

SERVICES = ["master", "prediction", "storage", "notification"]


def device_of(message: bytes) -> str:
    body = json.loads(message)
    return (body.get("batch") or [body.get("reading")])[0]["userId"]


def held(payloads: dict, altered: bool = False) -> dict[str, set]:
    """device -> (seq, content digest) of the rows a primary would have replicated."""
    out: dict[str, set] = {}
    for payload in payloads.values():
        for device, seq, _, ts, hr, rr, *_ in payload["readings"]:
            heartrate = hr + 1 if altered else hr
            out.setdefault(device, set()).add((seq, row_digest(heartrate, ts, rr, DIGEST_KEY)))
    return out


def forged_receipts(kind: str, primary: PeerNode, replica: PeerNode):
    """What the dishonest primary hands back instead of replicating."""
    a_master = create_new_key_pair()
    master_id = ID.from_pubkey(a_master.public_key).to_base58()
    signers = {
        "self-signed": (primary.key_pair, primary.peer_id, primary.gate.own_document),
        "master credential": (a_master, master_id, issue(OPERATOR, master_id, ["master"], 3600)),
        "other readings": (replica.key_pair, replica.peer_id, replica.gate.own_document),
    }

    async def replicate_nothing(payloads: dict, want_receipts: bool = False) -> list[dict]:
        if kind == "none" or not want_receipts:
            return []
        key_pair, signer, credential = signers[kind]
        return [sign_receipt(key_pair, signer, credential, primary.peer_id,
                             held(payloads, altered=kind == "other readings"))]

    return replicate_nothing


@pytest.mark.parametrize(("kind", "refusal"), [
    ("none", None), ("self-signed", "signed_by_primary"),
    ("master credential", "not_an_aggregator"), ("other readings", None)])
def test_a_primary_that_acks_without_replicating__its_messages_never_completed(tmp_path, kind,
                                                                                 refusal):
    workload = Workload(tmp_path, devices=12, seconds=12)
    queue = LocalQueue(tmp_path / "queue.db", max_delivery_count=3)
    store, owners = workload.store, [d.owner for d in workload.fleet]

    async def main():
        async with trio.open_nursery() as nursery:
            services = PeerNode(peer_settings(tmp_path, "a", SERVICES, master_route_patience_s=1.0),
                                ingest_settings(tmp_path, max_delivery_count=3))
            await nursery.start(services.run)
            dishonest = PeerNode(peer_settings(tmp_path, "b", ["aggregation"], [services.address]))
            honest = PeerNode(peer_settings(tmp_path, "c", ["aggregation"], [services.address]))
            await nursery.start(dishonest.run)
            await nursery.start(honest.run)
            role = dishonest.roles["aggregation"]
            role._replicate = forged_receipts(kind, dishonest, honest)  # acks, replicates nothing
            role.closable = lambda device: False  # and never sends a window on
            assert await wait_for(lambda: len(services.membership.live("aggregation")) == 2, 20)
            primary = {d.user_id: services.directory.primary_and_replica(d.user_id)[0]
                       for d in workload.fleet}
            queue.send(workload.valid_messages)
            honest_keys = {k for k in workload.valid_keys if primary[k[0]] == honest.peer_id}
            parked = lambda: len(queue.dead_lettered())
            expected_parked = sum(primary[device_of(m)] == dishonest.peer_id
                                  for m in workload.valid_messages)
            done = await wait_for(lambda: set(stored_keys(store, owners)) == honest_keys
                                  and parked() == expected_parked and queue.depth() == 0, 90, 0.2)
            await trio.sleep(1.0)  # anything still in flight would land now
            metrics = services.metrics()
            nursery.cancel_scope.cancel()
        return done, primary, honest_keys, metrics, dishonest.peer_id

    done, primary, honest_keys, metrics, dishonest_id = trio.run(main)
    assert honest_keys and honest_keys != workload.valid_keys  # both aggregators are primaries
    assert done
    counted = stored_keys(store, owners)
    assert set(counted) == honest_keys and max(counted.values()) == 1
    # every message of the dishonest primary's users was parked by the queue, none completed
    parked_devices = {device_of(body) for body, _ in queue.dead_lettered()}
    assert parked_devices == {d for d, p in primary.items() if p == dishonest_id}
    assert metrics["master_readings_unreceipted"] > 0
    refused = {k: v for k, v in metrics.items() if k.startswith("master_receipts_refused")}
    assert list(refused) == ([f'master_receipts_refused_total{{reason="{refusal}"}}']
                             if refusal else [])
    assert dead_letter_reasons(store) == []


def test_honest_replicas__every_reading_receipted_and_stored_once(tmp_path):
    workload = Workload(tmp_path, devices=8, seconds=12)
    queue = LocalQueue(tmp_path / "queue.db")
    store, owners = workload.store, [d.owner for d in workload.fleet]

    async def main():
        async with trio.open_nursery() as nursery:
            services = PeerNode(peer_settings(tmp_path, "a", SERVICES), ingest_settings(tmp_path))
            await nursery.start(services.run)
            for name in ("b", "c"):
                await nursery.start(PeerNode(peer_settings(tmp_path, name, ["aggregation"],
                                                           [services.address])).run)
            assert await wait_for(lambda: len(services.membership.live("aggregation")) == 2, 20)
            queue.send(workload.all_messages())
            done = await wait_for(lambda: queue.depth() == 0 and set(
                stored_keys(store, owners)) == workload.valid_keys, 60, 0.2)
            await trio.sleep(1.0)
            metrics = services.metrics()
            nursery.cancel_scope.cancel()
        return done, metrics

    done, metrics = trio.run(main)
    assert done
    counted = stored_keys(store, owners)
    assert set(counted) == workload.valid_keys and max(counted.values()) == 1
    assert metrics["master_readings_receipted"] >= len(workload.valid_keys)
    assert not any(k.startswith("master_receipts_refused") for k in metrics)
    assert queue.dead_lettered() == []


def test_a_primary_that_claims_late_and_writes_nothing__master_dead_letters_each_once(tmp_path):
    workload = Workload(tmp_path, devices=4, seconds=6)
    queue = LocalQueue(tmp_path / "queue.db")
    store = workload.store

    async def claims_late(request: IngestRequest, caller: str) -> IngestReply:
        count = len(request.readings)
        return IngestReply({"late": count}, [], [[i, "late"] for i in range(count)])

    async def main():
        async with trio.open_nursery() as nursery:
            services = PeerNode(peer_settings(tmp_path, "a", SERVICES), ingest_settings(tmp_path))
            await nursery.start(services.run)
            dishonest = PeerNode(peer_settings(tmp_path, "b", ["aggregation"], [services.address]))
            await nursery.start(dishonest.run)
            dishonest.rpc.handlers["agg.ingest"] = claims_late
            assert await wait_for(lambda: services.membership.live("aggregation"), 20)
            queue.send(workload.valid_messages)
            done = await wait_for(lambda: queue.depth() == 0 and len(
                store.dead_letters("reading")) >= len(workload.valid_keys), 60, 0.2)
            await trio.sleep(1.0)
            nursery.cancel_scope.cancel()
        return done

    assert trio.run(main)
    letters = store.dead_letters("reading")
    assert {d.reason for d in letters} == {"late"}
    keys = [(r["userId"], r["seq"]) for r in (json.loads(d.payload) for d in letters)]
    assert sorted(keys) == sorted(workload.valid_keys)  # each reading parked once, none lost
    assert queue.dead_lettered() == []
