"""kill -9 under load, peers in separate processes on 127.0.0.1: still every reading exactly once.

`make test` runs one cluster through an aggregator kill mid-window, then a master, a storage peer
and a notification peer; `make chaos` runs each kind of kill on its own cluster and prints the
time the supervisor took to bring the peer back."""

import threading
import time

import pytest

from .cluster import Cluster
from .helpers import stored_keys


def _assert_exactly_once(cluster: Cluster, expected: set) -> None:
    time.sleep(1.0)  # a duplicate still in flight would land now
    counted = stored_keys(cluster.store, cluster.owners)
    assert set(counted) == expected
    assert max(counted.values()) == 1
    assert [d.reason for d in cluster.store.dead_letters("reading")] == []


def test_kills__aggregator_master_storage_notification__exactly_once(tmp_path):
    with Cluster(tmp_path) as cluster:
        feeder, expected = cluster.feed(users=12, seconds=16)
        time.sleep(5.0)  # mid-window: windows are open on every aggregator
        cluster.kill("a1")
        cluster.kill("p1")  # a master, prediction, storage and notification peer at once
        feeder.join()
        assert cluster.wait_stored(expected, timeout_s=60)
        _assert_exactly_once(cluster, expected)
        assert all(child.restarts >= 1 for name, child in cluster.supervisor.children.items()
                   if name in ("a1", "p1"))


@pytest.mark.chaos
@pytest.mark.parametrize("victim", ["a1", "a2", "p1", "p2"])
def test_chaos__each_kill__exactly_once_and_recovery_time(tmp_path, victim):
    with Cluster(tmp_path) as cluster:
        feeder, expected = cluster.feed(users=30, seconds=20)
        time.sleep(7.0)
        cluster.kill(victim)
        time.sleep(3.0)
        cluster.kill(victim)  # twice: a restarted peer must rejoin and survive again
        feeder.join()
        assert cluster.wait_stored(expected, timeout_s=90)
        _assert_exactly_once(cluster, expected)
        print(f"recovery {victim}: {cluster.recoveries[victim]:.2f} s")
