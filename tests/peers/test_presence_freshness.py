"""A presence note carries when it was sent, and an old one is not taken: gossipsub forgets a
message's id after 120 s, so an admitted peer could replay a note of a peer since dead and make
the others route to it again (audit, 2026-12-06)."""

import json
import time
from types import SimpleNamespace

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

from services.peers.membership import NOTE_MAX_AGE_MS, Membership


def _membership() -> Membership:
    host = SimpleNamespace(get_id=lambda: SimpleNamespace(to_base58=lambda: "self"))
    settings = SimpleNamespace(presence_timeout_s=4.0, presence_interval_s=1.0)
    gate = SimpleNamespace(check_presented=lambda document, peer_id: SimpleNamespace(
        roles=frozenset({"aggregation"})))  # admission itself is tested in test_admission.py
    return Membership(host, None, ("storage",), settings, gate=gate)


def _message(**fields) -> rpc_pb2.Message:
    sender = ID.from_pubkey(create_new_key_pair().public_key)
    note = {"peer_id": sender.to_base58(), "roles": ["aggregation"], "addrs": [],
            "interval_s": 1.0, "credential": {}, **fields}
    return rpc_pb2.Message(from_id=sender.to_bytes(), data=json.dumps(note).encode())


def test_a_fresh_note_is_taken__a_stale_or_future_one_is_not():
    membership = _membership()
    now_ms = int(time.time() * 1000)
    assert membership._admitted_note(_message(sent_ms=now_ms)) is not None
    assert membership._admitted_note(_message(sent_ms=now_ms - NOTE_MAX_AGE_MS - 5_000)) is None
    assert membership._admitted_note(_message(sent_ms=now_ms + NOTE_MAX_AGE_MS + 5_000)) is None
    assert membership._admitted_note(_message(sent_ms="yesterday")) is None


def test_a_note_without_a_time__taken__a_peer_from_before_still_counts():
    assert _membership()._admitted_note(_message()) is not None


def test_peers_notes_carry_the_time_they_were_sent__and_are_taken(tmp_path):
    """Real hosts on 127.0.0.1: the notes a peer publishes carry `sent_ms` by the wall clock
    (in milliseconds: seconds would be refused as stale, and the peers would never see each
    other), and the other peer takes them."""
    import trio

    from services.peers.node import PeerNode

    from .helpers import peer_settings, wait_for

    async def main():
        async with trio.open_nursery() as nursery:
            first = PeerNode(peer_settings(tmp_path, "a", ["storage"]))
            await nursery.start(first.run)
            sent = []
            original = first.membership._admitted_note
            first.membership._admitted_note = lambda message: (
                sent.append(json.loads(message.data).get("sent_ms")), original(message))[1]
            second = PeerNode(peer_settings(tmp_path, "b", ["storage"], [first.address]))
            await nursery.start(second.run)
            seen = await wait_for(lambda: second.peer_id in first.membership.live(), 20)
            nursery.cancel_scope.cancel()
        return seen, sent, int(time.time() * 1000)

    seen, sent, now_ms = trio.run(main)
    assert seen
    assert sent and all(type(ms) is int and now_ms - 60_000 < ms <= now_ms for ms in sent)
