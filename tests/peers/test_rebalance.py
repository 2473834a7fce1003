"""Regression: an aggregator that (briefly) sees no live aggregator — its own presence note went
stale while its event loop was busy — must keep its windows, not hand them to nobody and drop
them. (That bug re-opened closed windows and stored them a second time, short of readings.)"""

import time
from types import SimpleNamespace

import pytest
import trio

from services.peers.membership import Membership, PeerRecord
from services.peers.messages.agg_ingest import IngestRequest
from services.peers.roles.aggregation import AggregationRole
from services.peers.rpc import PeerUnavailable, RemoteError
from services.peers.settings import PeersSettings

# rebalancing alone: no record store, no signing, no prediction/storage/notification peers
NOTHING_DOWNSTREAM = {"store": None, "signer": None, "call_role": None, "call_role_by_key": None}


def test_rebalance__no_live_aggregator__keeps_state(tmp_path):
    role = AggregationRole(
        settings=PeersSettings(data_dir=tmp_path, name="a", digest_key="07" * 32),
        rpc=SimpleNamespace(self_id="me", register=lambda op, handler: None),
        membership=SimpleNamespace(live=lambda role=None: [], mark_dead=lambda peer: None),
        directory=SimpleNamespace(primary_and_replica=lambda user: (None, None)),  # none live
        **NOTHING_DOWNSTREAM)
    role.windows.ingest([{"userId": "dev", "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    trio.run(role.rebalance)
    assert role.windows.devices() == ["dev"]


def _alone(tmp_path, **settings):
    """An aggregator that sees no other live aggregator: it is every user's primary."""
    return AggregationRole(
        settings=PeersSettings(data_dir=tmp_path, name="a", digest_key="07" * 32, **settings),
        rpc=SimpleNamespace(self_id="me", register=lambda op, handler: None),
        membership=SimpleNamespace(live=lambda role=None: ["me"], mark_dead=lambda peer: None),
        directory=SimpleNamespace(primary_and_replica=lambda user: ("me", None)),
        **NOTHING_DOWNSTREAM)


def test_alone__never_shared_state__closes_at_once(tmp_path):
    """One aggregator in the deployment: nobody else can hold its users' readings."""
    role = _alone(tmp_path)
    role.windows.ingest([{"userId": "dev", "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    trio.run(role.rebalance)
    assert role.closable("dev")


def test_alone__after_sharing_state__waits_for_the_others_then_closes(tmp_path):
    """Back from a crash with the aggregator it replicated with down too: that one may hold
    readings acknowledged while we were dead, so we do not close alone — across our restart
    too — until solo_close_after_s has passed without it."""
    role = _alone(tmp_path, solo_close_after_s=3600)
    role.windows.ingest([{"userId": "dev", "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    role.windows.remember_peers({"other"})  # as replication to it did before the crash
    restarted = _alone(tmp_path, solo_close_after_s=3600)
    trio.run(restarted.rebalance)
    assert not restarted.closable("dev")
    patient = _alone(tmp_path, solo_close_after_s=0.0)
    trio.run(patient.rebalance)
    assert patient.closable("dev")


def test_live__includes_ourselves_even_when_our_note_is_stale():
    membership = Membership.__new__(Membership)
    membership.self_id = "me"
    membership.settings = SimpleNamespace(presence_timeout_s=1.0)
    stale = time.monotonic() - 60
    membership.peers = {"me": PeerRecord("me", ("aggregation",), (), stale),
                        "other": PeerRecord("other", ("aggregation",), (), stale)}
    assert membership.live("aggregation") == ["me"]


@pytest.mark.parametrize(("failure", "marked_dead"), [
    (RemoteError("failed"), []), (ValueError("a bug of ours"), []),
    (PeerUnavailable("…other: TooSlowError"), ["other"])])
@pytest.mark.parametrize("owner", ["other", "me"])  # hand over (MERGE) / sync as primary (SYNC)
def test_rebalance_call_fails__only_an_unreachable_peer_is_taken_for_dead(
        tmp_path, failure, marked_dead, owner):
    """A peer that answered with an error is alive: marking it dead moved its users to other
    primaries until its next presence note (split windows, late readings). Either way the
    state is kept and the next round tries again."""
    dead = []

    async def call(peer, op, request):
        raise failure

    role = AggregationRole(
        settings=PeersSettings(data_dir=tmp_path, name="a", digest_key="07" * 32),
        rpc=SimpleNamespace(self_id="me", register=lambda op, handler: None, call=call),
        membership=SimpleNamespace(live=lambda role=None: ["me", "other"], mark_dead=dead.append),
        directory=SimpleNamespace(primary_and_replica=lambda user: (owner, "other" if owner == "me"
                                                                    else None)),
        **NOTHING_DOWNSTREAM)
    role.windows.ingest([{"userId": "dev", "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    trio.run(role.rebalance)
    assert dead == marked_dead
    assert role.windows.devices() == ["dev"] and role._rebalanced_for is None
    assert not role.closable("dev")


def _ingest(role, seq: int):
    reading = {"userId": "dev", "seq": seq, "ts_ms": seq * 1_000, "heartrate": 70.0}
    return trio.run(role.handle_ingest, IngestRequest([reading], {}), "master")


@pytest.mark.parametrize(("shared_before", "solo_close_after_s", "accepted"), [
    (False, 3600, True),   # one aggregator in the deployment: it acts alone from the start
    (True, 3600, False),   # its partner may be alive, closing this user's windows: wait
    (True, 0.0, True),     # its partner has been gone for solo_close_after_s
])
def test_ingest__no_replica_live__accepted_only_when_it_may_act_alone(
        tmp_path, shared_before, solo_close_after_s, accepted):
    """The partner our view lacks may be alive and primary in its own view (its notes late, a
    call to it timed out): a reading we took without a copy to it could miss the window it
    closes, acknowledged and then dead-lettered as late. Refused, it stays in the queue."""
    if shared_before:
        _alone(tmp_path).windows.remember_peers({"other"})
    role = _alone(tmp_path, solo_close_after_s=solo_close_after_s)
    trio.run(role.rebalance)
    reply = _ingest(role, 1)
    assert (reply.not_primary == []) is accepted
    assert (role.windows.devices() == ["dev"]) is accepted


def _membership_reading_queue_lows() -> Membership:
    membership = Membership.__new__(Membership)
    membership.self_id = "me"
    membership.settings = SimpleNamespace(presence_timeout_s=5.0, source_hold_max_s=120.0)
    membership._low_capped = False
    return membership


def test_queue_low__oldest_reported_by_a_live_master__others_ignored():
    membership = _membership_reading_queue_lows()
    now, stale = time.monotonic(), time.monotonic() - 60
    membership.peers = {
        "me": PeerRecord("me", ("aggregation",), (), now),
        "m1": PeerRecord("m1", ("master",), (), now, queue_low_ms=5_000),
        "m2": PeerRecord("m2", ("master",), (), now, queue_low_ms=None),  # its queue is empty
        "gone": PeerRecord("gone", ("master",), (), stale, queue_low_ms=1_000),
        "agg": PeerRecord("agg", ("aggregation",), (), now, queue_low_ms=2_000)}
    assert membership.queue_low_ms(now_ms=10_000) == 5_000
    membership.peers["m1"].queue_low_ms = None
    assert membership.queue_low_ms(now_ms=10_000) is None


def test_queue_low__our_own_master_is_read_as_it_is_now__not_as_our_last_note_said():
    """An aggregator with a master in its process: a watermark up to a presence interval old held
    windows back, then released them in one large close round (the all-in-one p50 +200 ms)."""
    membership = _membership_reading_queue_lows()
    now = time.monotonic()
    current = {"low": 9_000}
    membership._queue_low = lambda: current["low"]
    membership.peers = {"me": PeerRecord("me", ("aggregation", "master"), (), now,
                                         queue_low_ms=4_000),  # our last note's
                        "m1": PeerRecord("m1", ("master",), (), now, queue_low_ms=9_500)}
    assert membership.queue_low_ms(now_ms=10_000) == 9_000
    current["low"] = None  # our queue has emptied since the note
    assert membership.queue_low_ms(now_ms=10_000) == 9_500


@pytest.mark.parametrize("reported_ms", [0, 1_000_000 - 121_000])
def test_queue_low__a_watermark_too_far_back__holds_windows_back_only_so_far(reported_ms):
    """An admitted master that reports 0 (or a message stuck for hours) would otherwise hold
    every window back for good; it gets source_hold_max_s, then windows close."""
    membership = _membership_reading_queue_lows()
    now = time.monotonic()
    membership.peers = {"m1": PeerRecord("m1", ("master",), (), now, queue_low_ms=reported_ms),
                        "m2": PeerRecord("m2", ("master",), (), now, queue_low_ms=990_000)}
    assert membership.queue_low_ms(now_ms=1_000_000) == 1_000_000 - 120_000
    assert membership._low_capped
    membership.peers["m1"].queue_low_ms = 985_000  # within the hold: it counts as reported
    assert membership.queue_low_ms(now_ms=1_000_000) == 985_000
    assert not membership._low_capped


def test_queue_pending__a_recent_message_counts__none_or_a_stuck_one_does_not():
    """Closing flushes every open window once the stream has stopped; a message a live master
    still reports (sent within the hold) means it has not, however quiet the aggregator is."""
    membership = _membership_reading_queue_lows()
    now = time.monotonic()
    membership.peers = {"m1": PeerRecord("m1", ("master",), (), now, queue_low_ms=990_000)}
    assert membership.queue_pending(now_ms=1_000_000)
    membership.peers["m1"].queue_low_ms = None  # its queue is empty
    assert not membership.queue_pending(now_ms=1_000_000)
    membership.peers["m1"].queue_low_ms = 1_000_000 - 121_000  # stuck past the hold
    assert not membership.queue_pending(now_ms=1_000_000)


@pytest.mark.parametrize("owner", ["other", "me"])  # hand over (MERGE, then drop) / sync (SYNC)
def test_rebalance_writes__wait_for_an_ingest_call_holding_the_store(tmp_path, owner):
    """With an ingest process its calls write the window-store file from another connection;
    the loop's own writes take the writer lock (ClosingFirstLock) so that the loop never waits
    inside SQLite for one. A hand-over's drop, a sync's merge and the peers remembered with it
    wait while an ingest call holds the lock, and go on once it is released."""
    from services.peers.messages.agg_state import WindowState

    async def call(peer, op, request):
        return WindowState.of({"windows": [], "devices": [], "readings": []})

    role = AggregationRole(
        settings=PeersSettings(data_dir=tmp_path, name="a", digest_key="07" * 32),
        rpc=SimpleNamespace(self_id="me", register=lambda op, handler: None, call=call),
        membership=SimpleNamespace(live=lambda role=None: ["me", "other"],
                                   mark_dead=lambda peer: None),
        directory=SimpleNamespace(primary_and_replica=lambda user: (owner, "other" if owner == "me"
                                                                    else None)),
        **NOTHING_DOWNSTREAM)
    role.windows.ingest([{"userId": "dev", "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    done = []

    async def main():
        # an ingest call in flight until the block ends; the nursery then waits for the rebalance
        async with trio.open_nursery() as nursery, role.writes.ingest():
            nursery.start_soon(lambda: _rebalanced(done))
            await trio.sleep(0.2)
            assert done == []  # waiting for the lock, not written meanwhile
            assert role.windows.devices() == ["dev"]

    async def _rebalanced(out):
        await role.rebalance()
        out.append(True)

    trio.run(main)
    assert done == [True]
    if owner == "other":  # handed over: gone from here
        assert role.windows.devices() == []
    else:  # synced with our replica, remembered across restarts
        assert role.closable("dev") and role._known_peers == {"other"}
