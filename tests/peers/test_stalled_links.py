"""Which connections are closed as stalled (services/peers/stalled_links.py): those to a peer heard
from before, silent for three of its allowed silences, over a connection at least that old. The
effect on a real partition (a fresh connection as soon as the network heals, instead of waiting
out TCP's retransmission backoff) is measured by the hosts matrix (`make chaos`,
`cut_rejoin_s` in benchmarks/hosts.json)."""

from services.peers.stalled_links import StalledLinks


def _allowed(peer: str) -> float:
    return {"slow": 20.0}.get(peer, 4.0)


def test_silent_past_three_silences_on_an_old_connection__closed_once_then_clock_restarts():
    links = StalledLinks()
    heard = {"quiet": 100.0, "chatty": 100.0}
    assert links.stalled({"quiet", "chatty"}, heard, _allowed, now=100.0) == []
    heard["chatty"] = 112.0
    assert links.stalled({"quiet", "chatty"}, heard, _allowed, now=112.0) == []  # 12 s: not past
    assert links.stalled({"quiet", "chatty"}, heard, _allowed, now=112.5) == ["quiet"]
    links.forget("quiet")
    assert links.closed == 1
    # dialled again at once (the network healed): the new connection gets its own 12 s
    assert links.stalled({"quiet", "chatty"}, heard, _allowed, now=113.0) == []
    heard["chatty"] = 125.0
    assert links.stalled({"quiet", "chatty"}, heard, _allowed, now=125.5) == ["quiet"]


def test_a_peer_allowed_longer_silences__waited_for_in_proportion():
    links = StalledLinks()
    heard = {"slow": 0.0}
    assert links.stalled({"slow"}, heard, _allowed, now=0.0) == []
    assert links.stalled({"slow"}, heard, _allowed, now=59.0) == []
    assert links.stalled({"slow"}, heard, _allowed, now=61.0) == ["slow"]


def test_restarted_peer_long_unheard__its_new_connection_gets_time_for_a_first_note():
    links = StalledLinks()
    heard = {"restarted": 0.0}  # its previous incarnation's last note, a minute ago
    assert links.stalled(set(), heard, _allowed, now=60.0) == []
    assert links.stalled({"restarted"}, heard, _allowed, now=60.0) == []
    assert links.stalled({"restarted"}, heard, _allowed, now=71.0) == []


def test_never_heard__never_closed():
    links = StalledLinks()
    assert links.stalled({"stranger"}, {}, _allowed, now=0.0) == []
    assert links.stalled({"stranger"}, {}, _allowed, now=3_600.0) == []
    assert links.closed == 0


def test_disconnected_in_between__clock_restarts_with_the_next_connection():
    links = StalledLinks()
    heard = {"p": 0.0}
    assert links.stalled({"p"}, heard, _allowed, now=0.0) == []
    assert links.stalled(set(), heard, _allowed, now=5.0) == []  # it dropped by itself
    assert links.stalled({"p"}, heard, _allowed, now=6.0) == []
    assert links.stalled({"p"}, heard, _allowed, now=17.0) == []
    assert links.stalled({"p"}, heard, _allowed, now=18.5) == ["p"]
