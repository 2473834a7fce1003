"""What one admitted caller can make a peer read (real hosts on 127.0.0.1): a request frame is read
whole and parsed before its op is known, so a caller may send frames only as large as its role's
largest request, and hold at most MAX_STREAMS_PER_CALLER request streams open at once."""

import struct

import trio
from libp2p.peer.id import ID
from pulseledger_testkit.admission import OPERATOR

from services.peers.admission.authorization import REQUEST_FRAME_LIMITS
from services.peers.admission.credential import issue
from services.peers.node import PeerNode
from services.peers.rpc import MAX_STREAMS_PER_CALLER, PROTOCOL, read_frame, write_frame

from .attacker import Attacker
from .helpers import open_test_store, peer_settings, wait_for

SMALL = {"op": "agg.sync", "body": {"devices": [["12D3KooWNobody"]]}}


async def _exchange(host, peer, frame: bytes) -> dict | None:
    """Open a request stream, send raw frame bytes, read the reply; None when the peer closed the
    stream instead (at once, it may even fail the protocol's negotiation)."""
    try:
        stream = await host.new_stream(peer, [PROTOCOL])
        await stream.write(frame)
        with trio.fail_after(10):
            return await read_frame(stream)
    except trio.TooSlowError:
        raise
    except Exception:  # noqa: BLE001 - reset or closed: what a refusal looks like
        return None


async def _aggregator_and_master(nursery, tmp_path):
    """An aggregator, and an admitted master connected to it: (aggregator, master, its peer id)."""
    open_test_store(tmp_path)
    master = Attacker()
    master.credential = issue(OPERATOR, master.peer_id, ["master"], 3600)
    node = PeerNode(peer_settings(tmp_path, "a", ["aggregation"]))
    await nursery.start(node.run)
    await nursery.start(master.run)
    await master.dial(node.address)
    return node, master, ID.from_base58(node.peer_id)


async def _small_call(master, peer) -> dict:
    """A well-formed small request on a stream of its own: is the caller still heard?"""
    stream = await master.host.new_stream(peer, [PROTOCOL])
    await write_frame(stream, SMALL)
    with trio.fail_after(10):
        return await read_frame(stream)


def test_a_frame_beyond_its_roles_limit__closed__the_peer_still_answers(tmp_path):
    async def main():
        async with trio.open_nursery() as nursery:
            _, master, peer = await _aggregator_and_master(nursery, tmp_path)
            # a length beyond a master's limit, and only a little of it sent: refused on the length
            too_big = await _exchange(master.host, peer,
                                      struct.pack(">I", REQUEST_FRAME_LIMITS["master"] + 1)
                                      + b"{" * 1024)
            answered = await _small_call(master, peer)
            nursery.cancel_scope.cancel()
            return too_big, answered

    too_big, answered = trio.run(main)
    assert too_big is None
    assert answered == {"ok": False, "error": "forbidden"}  # a master may not sync: but it is heard


def test_more_streams_than_a_caller_may_hold__the_extra_one_closed_unread(tmp_path):
    async def main():
        async with trio.open_nursery() as nursery:
            node, master, peer = await _aggregator_and_master(nursery, tmp_path)
            held = []
            for _ in range(MAX_STREAMS_PER_CALLER):  # each starts a frame it never finishes
                stream = await master.host.new_stream(peer, [PROTOCOL])
                await stream.write(struct.pack(">I", 1024) + b"{")
                held.append(stream)
            assert await wait_for(lambda: sum(node.rpc._serving.values()) == len(held), 10)
            refused = await _exchange(master.host, peer, struct.pack(">I", 2) + b"{}")
            counted = dict(node.rpc.streams_refused)
            for stream in held:
                await stream.reset()
            assert await wait_for(lambda: not node.rpc._serving, 10)
            answered = await _small_call(master, peer)
            nursery.cancel_scope.cancel()
            return refused, counted, answered

    refused, counted, answered = trio.run(main)
    assert refused is None and counted == {"too_many_streams": 1}
    assert answered == {"ok": False, "error": "forbidden"}  # once the others closed, heard again
