"""Closing connections that carry nothing: a peer we are connected to but have not heard from
for several of its allowed silences is behind a stalled link, and a fresh connection is what
brings it back.

On a real partition (packets dropped, not refused) established TCP connections do not fail:
they retransmit with a doubling timeout, and nothing crosses them again until the next
retransmission after the network heals — for a 30-s cut, about 24 s after it (the hosts matrix,
`cut_rejoin_s`, 2026-12-06). libp2p keeps such a connection as connected, so our reconnect loop
never dials the peer. Closing it when the peer has been silent for `SILENCES` of its allowed
silences (it is taken for dead long before: presence_pacing.py) lets the reconnect loop dial it
afresh, and a new connection's handshake goes through as soon as the network heals. Both ends
of a cut see the other fall silent, so both close, and the fresh connection is the only one.

A connection newer than that is left alone whatever we last heard: a peer restarted under its id
must get the time to send its first note. So is a peer never heard from (it may not announce).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

SILENCES = 3


class StalledLinks:
    def __init__(self, silences: int = SILENCES):
        self._silences = silences
        self._connected_since: dict[str, float] = {}
        self.closed = 0  # connections closed as stalled (a metric)

    def stalled(self, connected: Iterable[str], heard: dict[str, float],
                allowed_silence: Callable[[str], float], now: float) -> list[str]:
        """The connected peers to disconnect now. `heard`: when each peer's last note came;
        `connected`: the peers we hold a connection to (this call also learns since when)."""
        connected = set(connected)
        for peer in [p for p in self._connected_since if p not in connected]:
            del self._connected_since[peer]
        out = []
        for peer in sorted(connected):
            since = self._connected_since.setdefault(peer, now)
            if peer not in heard:
                continue
            quiet_from = max(heard[peer], since)
            if now - quiet_from > self._silences * allowed_silence(peer):
                out.append(peer)
        return out

    def forget(self, peer: str) -> None:
        """The peer's connection was closed: a new one starts its own clock."""
        self._connected_since.pop(peer, None)
        self.closed += 1
