"""Regression: an aggregator that (briefly) sees no live aggregator — its own presence note went
stale while its event loop was busy — must keep its windows, not hand them to nobody and drop
them. (That bug re-opened closed windows and stored them a second time, short of readings.)"""

import time
from types import SimpleNamespace

import trio

from services.peers.membership import Membership, PeerRecord
from services.peers.roles.aggregation import AggregationRole
from services.peers.settings import PeersSettings


def test_rebalance__no_live_aggregator__keeps_state(tmp_path):
    node = SimpleNamespace(
        settings=PeersSettings(data_dir=tmp_path, name="a", digest_key="07" * 32),
        rpc=SimpleNamespace(self_id="me", register=lambda op, handler: None),
        membership=SimpleNamespace(live=lambda role=None: [], mark_dead=lambda peer: None),
        directory=SimpleNamespace(primary_and_replica=lambda user: (None, None)),  # none live
    )
    role = AggregationRole(node)
    role.windows.ingest([{"userId": "dev", "seq": 1, "ts_ms": 1_000, "heartrate": 70.0}])
    trio.run(role.rebalance)
    assert role.windows.devices() == ["dev"]


def test_live__includes_ourselves_even_when_our_note_is_stale():
    membership = Membership.__new__(Membership)
    membership.self_id = "me"
    membership.settings = SimpleNamespace(presence_timeout_s=1.0)
    stale = time.monotonic() - 60
    membership.peers = {"me": PeerRecord("me", ("aggregation",), (), stale),
                        "other": PeerRecord("other", ("aggregation",), (), stale)}
    assert membership.live("aggregation") == ["me"]
