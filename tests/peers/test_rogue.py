"""Rogue peers against a live, counted pipeline (real hosts on 127.0.0.1, several peers in one
process): a fresh key without a credential, an expired credential, a revoked one, and an
admitted peer of a role that may call nothing, and an admitted master calling others' ops. Each
dials, listens to and forges presence (for itself with every role, and for a peer that does not
exist), and calls agg.sync (naming real devices), agg.ingest (an unsigned reading; not the
master), store.windows (a forged "irregular" window) and notify.predictions (a forged,
future-dated alert). Every one of those is refused — cut off before any protocol for the three
outsiders, streams closed unread for the role that may call nothing, a typed `forbidden` for
the master — and
the pipeline still stores every valid reading exactly once. Revoking the admitted peer's
credential at the end disconnects it without a restart."""

import json
import time
from collections import Counter

import trio
from libp2p.peer.id import ID
from pulseledger_testkit.admission import OPERATOR

from services.ingest.queues.local import LocalQueue
from services.peers.admission.credential import issue
from services.peers.admission.revocation import make_list
from services.peers.node import PeerNode

from .attacker import FAKE_PEER, Attacker
from .helpers import (
    Workload,
    dead_letter_reasons,
    ingest_settings,
    peer_settings,
    stored_keys,
    wait_for,
)
from .test_pipeline_in_process import EXPECTED_REASONS

ALL_ROLES = ["master", "aggregation", "prediction", "storage", "notification"]
FORBIDDEN = {"ok": False, "error": "forbidden"}


def forged_calls(device: str) -> dict[str, dict]:
    now_ms = int(time.time() * 1000)
    irregular = {"status": "irregular", "probability": 0.99, "features": "rr",
                 "model_sha256": "0" * 64, "input_sha256": "0" * 64}
    reading = {"userId": device, "heartrate": 181.0, "ts_ms": now_ms, "seq": 99_999_999,
               "signal": "rr", "rr": [330]}
    return {
        "agg.sync": {"devices": [[device]]},
        "agg.ingest": {"readings": [reading]},
        "store.windows": {"window_ms": 10_000, "items": [{
            "device_id": device, "window_start_ms": now_ms // 10_000 * 10_000,
            "readings": [reading], "prediction": irregular}]},
        "notify.predictions": {"items": [{"device_id": device, "prediction": irregular,
                                          "window_start_ms": now_ms + 86_400_000}]},
    }


def write_revocations(data_dir, seq: int, serials) -> None:
    (data_dir / "admission").mkdir(parents=True, exist_ok=True)
    (data_dir / "admission" / "revocations.json").write_text(
        json.dumps(make_list(OPERATOR, seq, serials, [])))


def test_rogue_peers__every_attack_refused__pipeline_stores_each_reading_once(tmp_path):
    workload = Workload(tmp_path, devices=4, seconds=20)
    queue = LocalQueue(tmp_path / "queue.db")
    queue.send(workload.all_messages())
    owners = [d.owner for d in workload.fleet]
    device = workload.fleet[0].user_id

    attackers = {"stranger": Attacker(), "expired": Attacker(), "revoked": Attacker(),
                 "wrong_role": Attacker(), "wrong_op": Attacker()}
    attackers["expired"].credential = issue(OPERATOR, attackers["expired"].peer_id, ALL_ROLES,
                                            60, now=time.time() - 3600)
    attackers["revoked"].credential = issue(OPERATOR, attackers["revoked"].peer_id, ALL_ROLES,
                                            3600)
    attackers["wrong_role"].credential = issue(OPERATOR, attackers["wrong_role"].peer_id,
                                               ["notification"], 3600)
    # a master may call agg.ingest only: the other three are a typed `forbidden`
    attackers["wrong_op"].credential = issue(OPERATOR, attackers["wrong_op"].peer_id,
                                             ["master"], 3600)
    revoked_serial = attackers["revoked"].credential["credential"]["serial"]
    write_revocations(tmp_path, 1, [revoked_serial])

    async def main():
        async with trio.open_nursery() as nursery:
            first = PeerNode(peer_settings(tmp_path, "a", ["master", "prediction", "storage",
                                                           "notification"]),
                             ingest_settings(tmp_path))
            await nursery.start(first.run)
            aggregator = PeerNode(peer_settings(tmp_path, "b", ["aggregation", "master"],
                                                [first.address]), ingest_settings(tmp_path))
            other = PeerNode(peer_settings(tmp_path, "c", ["aggregation"], [first.address]))
            await nursery.start(aggregator.run)
            await nursery.start(other.run)
            peers = [first, aggregator, other]

            async def attack(attacker: Attacker) -> None:
                await nursery.start(attacker.run)
                addresses = [str(a) for a in attacker.host.get_addrs()]
                for victim in peers:
                    await attacker.dial(victim.address)
                await attacker.announce(addresses)
                calls = forged_calls(device)
                for op in ("agg.sync", "agg.ingest"):
                    if attacker is attackers["wrong_op"] and op == "agg.ingest":
                        continue  # its own op: what a master may send is tested elsewhere
                    await attacker.call(aggregator.peer_id, op, calls[op])
                for op in ("store.windows", "notify.predictions"):
                    await attacker.call(first.peer_id, op, calls[op])
                await attacker.announce(addresses)

            async with trio.open_nursery() as attacks:
                for attacker in attackers.values():
                    attacks.start_soon(attack, attacker)
            await trio.sleep(1.0)  # presence intervals for any note that got through
            membership = {p.peer_id: {r.peer_id: r.roles for r in p.membership.peers.values()}
                          for p in peers}
            # py-libp2p may redial on its own; what matters is that no gate ever admitted them
            admitted = {name: [p.gate.credential_of(a.peer_id) is not None for p in peers]
                        for name, a in attackers.items()}

            # revoking the admitted peer: dropped on one file, picked up, disconnected
            write_revocations(tmp_path, 2, [revoked_serial,
                                            attackers["wrong_role"].credential["credential"]["serial"]])
            wrong_role = attackers["wrong_role"]
            # on our side (the attacker's own swarm may not notice a PSK connection closed)
            disconnected = await wait_for(
                lambda: not any(p.host.get_network().get_connections(ID.from_base58(
                    wrong_role.peer_id)) for p in peers), 15)

            done = await wait_for(
                lambda: queue.depth() == 0
                and set(stored_keys(workload.store, owners)) == workload.valid_keys
                and len(dead_letter_reasons(workload.store)) >= len(EXPECTED_REASONS), 60, 0.2)
            await trio.sleep(1.0)  # anything still in flight would show up as a duplicate now
            refused = sum((p.gate.refused for p in peers), start=Counter())
            forbidden = sum((p.rpc.forbidden for p in peers), start=Counter())
            unread = sum((p.rpc.streams_refused for p in peers), start=Counter())
            nursery.cancel_scope.cancel()
        return membership, admitted, disconnected, done, refused, forbidden, unread

    membership, admitted, disconnected, done, refused, forbidden, unread = trio.run(main)

    for name in ("stranger", "expired", "revoked"):
        attacker = attackers[name]
        assert set(attacker.outcome.replies) == {"agg.sync", "agg.ingest", "store.windows",
                                                 "notify.predictions"}
        assert all(reply is None for reply in attacker.outcome.replies.values()), name
        assert attacker.outcome.heard_presence == 0, name
        assert admitted[name] == [False, False, False], name
        assert all(attacker.peer_id not in seen for seen in membership.values()), name
    # admitted, but its role may call nothing: each stream closed before a byte of it is read
    wrong_role = attackers["wrong_role"]
    assert wrong_role.outcome.replies == {op: None for op in wrong_role.outcome.replies}
    assert len(wrong_role.outcome.replies) == 4
    assert unread["no_operation_for_its_roles"] >= 4
    assert admitted["wrong_role"] == [True, True, True]  # until revoked, below
    wrong_op = attackers["wrong_op"]
    assert wrong_op.outcome.replies == {"agg.sync": FORBIDDEN, "store.windows": FORBIDDEN,
                                        "notify.predictions": FORBIDDEN}
    # admitted, so it may listen; its claim to every role is cut to the one it was granted
    assert all(set(seen.get(wrong_role.peer_id, ())) <= {"notification"}
               for seen in membership.values())
    assert any(wrong_role.peer_id in seen for seen in membership.values())
    assert all(FAKE_PEER not in seen for seen in membership.values())
    assert disconnected
    assert refused["no_credential"] >= 1 and refused["expired"] >= 1 and refused["revoked"] >= 1
    assert set(forbidden) == {"agg.sync", "store.windows", "notify.predictions"}

    assert done
    counted = stored_keys(workload.store, owners)
    assert set(counted) == workload.valid_keys and max(counted.values()) == 1
    assert sorted(dead_letter_reasons(workload.store)) == EXPECTED_REASONS
