"""Presence paced by the network's budget: each peer announces less often as the cluster grows,
says how often in its note, and the others wait four of its intervals before they call it gone
(services/peers/presence_pacing.py). Real hosts on 127.0.0.1 for the end-to-end case."""

import time
from collections import Counter
from types import SimpleNamespace

import pytest
import trio

from services.peers import presence_pacing as pacing
from services.peers.membership import Membership, PeerRecord
from services.peers.node import PeerNode

from .helpers import peer_settings, wait_for


def test_interval__small_cluster_keeps_the_shortest__large_shares_the_budget():
    assert pacing.next_interval(3, 1.0, 5.0, None) == 1.0
    assert pacing.next_interval(11, 1.0, 5.0, None) == pytest.approx(2.2)
    assert pacing.next_interval(11, 1.0, 0.0, None) == 1.0  # no budget: fixed interval
    assert pacing.next_interval(10_000, 1.0, 5.0, None) == pacing.LONGEST_INTERVAL_S


def test_interval__grows_at_most_twofold_per_note__shrinks_at_once():
    assert pacing.next_interval(50, 1.0, 5.0, previous_s=1.0) == 2.0
    assert pacing.next_interval(50, 1.0, 5.0, previous_s=2.0) == 4.0
    assert pacing.next_interval(50, 1.0, 5.0, previous_s=8.0) == 10.0
    assert pacing.next_interval(2, 1.0, 5.0, previous_s=10.0) == 1.0


@pytest.mark.parametrize("announced", [None, "3", True, float("nan"), float("inf"), -2.0, 0])
def test_silence__a_note_without_a_usable_interval_gets_the_timeout(announced):
    assert pacing.allowed_silence(announced, 4.0) == 4.0


def test_silence__four_announced_intervals__at_least_the_timeout__capped():
    assert pacing.allowed_silence(2.5, 4.0) == 10.0
    assert pacing.allowed_silence(0.25, 4.0) == 4.0
    assert pacing.allowed_silence(10_000.0, 4.0) == 4 * pacing.LONGEST_INTERVAL_S


def test_live__each_peer_judged_by_its_own_announced_silence():
    host = SimpleNamespace(get_id=lambda: SimpleNamespace(to_base58=lambda: "self"))
    settings = SimpleNamespace(presence_timeout_s=4.0, presence_interval_s=1.0)
    membership = Membership(host, None, ("storage",), settings, gate=None)
    eight_s_ago = time.monotonic() - 8.0
    membership.peers = {
        "slow": PeerRecord("slow", ("storage",), (), last_seen=eight_s_ago, silence_s=12.0),
        "plain": PeerRecord("plain", ("storage",), (), last_seen=eight_s_ago),
        "dead": PeerRecord("dead", ("storage",), (), last_seen=time.monotonic() - 13.0,
                           silence_s=12.0),
    }
    assert membership.live() == ["slow"]


def test_cluster_size__counts_peers_taken_for_dead__not_long_gone_ones():
    """Pacing counts peers heard from lately, live or not: an overloaded peer that takes the
    others for dead must not announce faster (more load) because of it."""
    host = SimpleNamespace(get_id=lambda: SimpleNamespace(to_base58=lambda: "self"))
    settings = SimpleNamespace(presence_timeout_s=4.0, presence_interval_s=1.0)
    membership = Membership(host, None, ("storage",), settings, gate=None)
    long_ago = time.monotonic() - pacing.COUNTED_FOR_S - 1.0
    for peer in ("self", "busy", "failed-rpc"):
        membership._note(PeerRecord(peer, ("storage",), ()))
    membership._note(PeerRecord("left", ("storage",), (), last_seen=long_ago))
    membership.mark_dead("failed-rpc")
    assert membership.live() == ["busy", "self"]
    assert membership.cluster_size() == 3


def test_paced_cluster__notes_follow_the_budget__nobody_flaps__a_stopped_peer_goes(tmp_path):
    """Three peers, budget 3 notes/s: each settles at one note a second, four times the 0.25 s
    timeout. Judged by the timeout alone every peer would drop out between notes; judged by
    the announced interval none does, and a stopped peer is gone within four intervals."""
    settings = {"presence_interval_s": 0.25, "presence_timeout_s": 0.25, "presence_budget_per_s": 3.0}

    async def main():
        async with trio.open_nursery() as nursery:
            first = PeerNode(peer_settings(tmp_path, "a", ["storage"], **settings))
            await nursery.start(first.run)
            others = [PeerNode(peer_settings(tmp_path, name, ["storage"], [first.address],
                                             **settings)) for name in ("b", "c")]
            for node in others:
                await nursery.start(node.run)
            nodes = [first, *others]
            assert await wait_for(lambda: all(n.membership.interval_s == 1.0 for n in nodes), 20)
            notes = Counter()
            original = first.membership._note
            first.membership._note = lambda record: (notes.update([record.peer_id]),
                                                     original(record))[1]
            smallest_view, started = 3, time.monotonic()
            while time.monotonic() - started < 5.0:
                smallest_view = min(smallest_view, *(len(n.membership.live()) for n in nodes))
                await trio.sleep(0.05)
            watched_s = time.monotonic() - started
            gone = others[1].peer_id
            others[1].stop()
            stopped = time.monotonic()
            left = await wait_for(lambda: gone not in first.membership.live(), 10, poll_s=0.05)
            took_s = time.monotonic() - stopped
            nursery.cancel_scope.cancel()
        heard = {peer: count for peer, count in notes.items() if peer != first.peer_id}
        return smallest_view, heard, watched_s, left, took_s

    smallest_view, heard, watched_s, left, took_s = trio.run(main)
    assert smallest_view == 3  # nobody was ever taken for dead
    # Two other peers at one note a second; the fixed 0.25 s interval would have given ~40.
    assert sum(heard.values()) <= 2 * (watched_s + 1) * 1.5, heard
    # Each kept announcing: at one a second ~5 notes; half of that leaves room for a loaded
    # machine's late ticks (watched_s - 1 failed now and then in full suites)
    assert len(heard) == 2 and min(heard.values()) >= watched_s / 2, heard
    assert left and took_s <= 4 * 1.0 + 1.5
