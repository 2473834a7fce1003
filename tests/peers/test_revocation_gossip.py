"""The revocation topic passes on only lists that are new and the operator's (revocation_gossip.py):
forged "newer" lists from an admitted peer stop at their first hop, cost that hop a few signature
checks a second, and a real new list still crosses the network. Real hosts on 127.0.0.1: an
admitted insider floods peer A, which peer C reaches only through A."""

import json

import trio
from libp2p.pubsub.pb import rpc_pb2
from pulseledger_testkit.admission import OPERATOR

from services.peers.admission.credential import issue
from services.peers.admission.revocation import RevocationList, Revocations, make_list
from services.peers.admission.revocation_gossip import CHECK_BURST, TOPIC, HeardLists
from services.peers.node import PeerNode

from .attacker import Attacker
from .helpers import peer_settings

FORGED = 200


def _forged(seq: int) -> bytes:
    """A list claiming a seq no one has, its signature someone else's."""
    document = make_list(OPERATOR, seq, [], [])
    document["sig"] = make_list(OPERATOR, seq + 1, [], [])["sig"]
    return json.dumps(document).encode()


def _message(sender: Attacker, data: bytes) -> rpc_pb2.Message:
    return rpc_pb2.Message(from_id=sender.host.get_id().to_bytes(), data=data, topicIDs=[TOPIC])


def test_heard_lists__old_malformed_forged_and_own__judged_without_needless_checks(tmp_path):
    revocations = Revocations(OPERATOR.public_key(), tmp_path / "revocations.json")
    assert revocations.adopt(RevocationList(5), persist=False)
    me, insider = Attacker(), Attacker()
    heard = HeardLists(revocations, me.peer_id)
    forwarder = insider.host.get_id()

    assert heard(forwarder, _message(me, b"anything"))  # our own publish goes out
    assert not heard(forwarder, _message(insider, json.dumps(make_list(OPERATOR, 5, [], []))
                                         .encode()))  # what we have: dropped, nothing counted
    assert not heard(forwarder, _message(insider, b"{not json"))
    assert not heard(forwarder, _message(insider, b'{"revocations": {"seq": true}}'))
    for _ in range(50):
        assert not heard(forwarder, _message(insider, _forged(6)))
    assert heard.refused == {"malformed": 2, "bad_signature": CHECK_BURST, "rate": 50 - CHECK_BURST}
    # another forwarder's budget is its own: a real newer list from it is adopted and passed on
    assert heard(me.host.get_id(), _message(insider, json.dumps(make_list(OPERATOR, 6, [], []))
                                            .encode()))
    assert revocations.current.seq == 6


def test_forged_lists_stop_at_the_first_hop__a_real_one_crosses(tmp_path):
    insider = Attacker()
    insider.credential = issue(OPERATOR, insider.peer_id, ["storage"], 3600)

    async def main():
        async with trio.open_nursery() as nursery:
            a = PeerNode(peer_settings(tmp_path, "a", ["storage"]))
            await nursery.start(a.run)
            c = PeerNode(peer_settings(tmp_path, "c", ["storage"], bootstrap=[a.address]))
            await nursery.start(c.run)
            await nursery.start(insider.run)
            await insider.dial(a.address)
            await insider.pubsub.subscribe(TOPIC)
            with trio.fail_after(15):  # A hears both in its topic mesh
                while {insider.peer_id, c.peer_id} - {p.to_base58() for p in
                                                      a.revocation_gossip.pubsub.peer_topics.get(TOPIC, ())}:
                    await trio.sleep(0.1)
            for i in range(FORGED):  # paced: py-libp2p queues 32 messages a peer, drops beyond
                await insider.pubsub.publish(TOPIC, _forged(7 + i))
                await trio.sleep(0.01)
            await trio.sleep(1.0)
            flooded = (dict(a.revocation_gossip.heard.refused),
                       dict(c.revocation_gossip.heard.refused))
            await insider.pubsub.publish(TOPIC, json.dumps(make_list(OPERATOR, 7, [], [])).encode())
            with trio.fail_after(10):
                while c.revocation_gossip.revocations.current.seq != 7:
                    await trio.sleep(0.1)
            nursery.cancel_scope.cancel()
        return flooded

    at_a, at_c = trio.run(main)
    assert at_a["bad_signature"] <= CHECK_BURST + 5  # the burst, then ~1 a second
    assert at_a["bad_signature"] + at_a["rate"] == FORGED
    assert at_c == {}  # none was passed on to C
