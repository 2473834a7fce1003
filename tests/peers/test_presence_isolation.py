"""A peer connected to subscribed peers but hearing none of them says so, once per episode, with
the mesh's state, and its metrics show it (services/peers/presence_isolation.py). The watch's
inputs are plain functions here; membership.py feeds it pubsub's tables."""

import logging

from services.peers.presence_isolation import IsolationWatch


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _watch(subscribed=3):
    clock = Clock()
    count = [subscribed]
    watch = IsolationWatch(lambda: count[0], lambda: "mesh 0, 3 backed off", clock)
    watch.check(allowed_silence_s=4.0)  # the watch's first look: it learns who subscribes
    return watch, clock, count


def test_unheard_past_two_silences__cut_off_logged_once_then_heard_again(caplog):
    watch, clock, _ = _watch()
    caplog.set_level(logging.INFO, logger="services.peers.presence_isolation")
    clock.now += 8.0
    assert not watch.check(allowed_silence_s=4.0)  # two silences: not yet
    clock.now += 0.5
    assert watch.check(allowed_silence_s=4.0)
    clock.now += 4.0
    assert watch.check(allowed_silence_s=4.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no note from any of 3 connected peers for 8 s" in warnings[0]
    assert "mesh 0, 3 backed off" in warnings[0]
    assert watch.metrics() == {"presence_isolations_total": 1, "presence_unheard_s": 12.5}

    watch.heard()
    assert not watch.check(allowed_silence_s=4.0)
    assert watch.metrics() == {"presence_isolations_total": 1, "presence_unheard_s": 0.0}
    assert any("hearing other peers again after 12 s" in r.getMessage() for r in caplog.records)


def test_a_peer_that_hears_notes__never_cut_off():
    watch, clock, _ = _watch()
    for _ in range(10):
        clock.now += 5.0
        watch.heard()
        assert not watch.check(allowed_silence_s=4.0)
    assert watch.metrics()["presence_isolations_total"] == 0


def test_alone_with_no_subscribed_peer__not_cut_off():
    """A lone peer (the first of a network, or every other one stopped) has nobody to hear."""
    watch, clock, _ = _watch(subscribed=0)
    clock.now += 600.0
    assert not watch.check(allowed_silence_s=4.0)


def test_only_neighbour_restarted__its_first_note_gets_time_however_long_the_gap():
    """Two peers: the other is killed (nobody subscribed), and back a minute later."""
    watch, clock, count = _watch(subscribed=1)
    count[0] = 0
    clock.now += 60.0
    assert not watch.check(allowed_silence_s=4.0)
    count[0] = 1  # restarted: connected and subscribed, its first note on its way
    assert not watch.check(allowed_silence_s=4.0)
    clock.now += 8.0
    assert not watch.check(allowed_silence_s=4.0)
    clock.now += 1.0
    assert watch.check(allowed_silence_s=4.0)  # and then it is silence
