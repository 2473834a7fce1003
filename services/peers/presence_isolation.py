"""Noticing that this peer is cut off from the control plane: connected to peers that subscribe
to presence, yet hearing no note from any of them.

Such a peer takes itself for the only one alive: it routes nothing to others, and its close
rounds fail with `NoPeerForRole` while its partner takes its windows over. In the chaos matrix
(2026-12-06) an aggregator stayed so for 42–80 s after a neighbour's restart, and nothing said
so: its log held only retried close rounds. The cause, gossip withheld from backed-off peers, is
fixed in gossip_router.py; this watch is for whatever else may cut a peer off, and says so once
per episode (with the mesh's state, which is what to look at) instead of leaving an operator to
infer it from retries. It counts episodes (`presence_isolations_total`) and how long the current
one has lasted (`presence_unheard_s`, 0 when not cut off).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
# Cut off after this many of the longest silences a peer may keep: one missed note is noise.
SILENCES = 2


class IsolationWatch:
    def __init__(self, subscribed_peers: Callable[[], int], mesh_state: Callable[[], str],
                 clock: Callable[[], float] = time.monotonic):
        self._subscribed_peers = subscribed_peers
        self._mesh_state = mesh_state
        self._clock = clock
        self._last_heard = clock()
        self._since: float | None = None  # when the current episode was noticed
        # since when some peer has subscribed: one that joins a peer alone (its only neighbour
        # restarted) must get the time for its first note, however long ago the last one was
        self._subscribed_since: float | None = None
        self.isolations = 0

    def heard(self) -> None:
        """A note from another peer came: whatever episode there was is over."""
        self._last_heard = self._clock()
        if self._since is not None:
            log.info("presence: hearing other peers again after %.0f s cut off",
                     self._last_heard - self._since)
            self._since = None

    def check(self, allowed_silence_s: float) -> bool:
        """Are we cut off now? Logs the start of an episode once."""
        now = self._clock()
        if self._since is not None:
            return True
        subscribed = self._subscribed_peers()
        if subscribed == 0:
            self._subscribed_since = None
            return False
        if self._subscribed_since is None:
            self._subscribed_since = now
        unheard = now - max(self._last_heard, self._subscribed_since)
        if unheard <= SILENCES * allowed_silence_s:
            return False
        self._since = now - unheard
        self.isolations += 1
        log.warning("presence: no note from any of %d connected peers for %.0f s (%s): this "
                    "peer is cut off from the control plane and acts as if alone",
                    subscribed, unheard, self._mesh_state())
        return True

    def metrics(self) -> dict:
        unheard = self._clock() - self._since if self._since is not None else 0.0
        return {"presence_isolations_total": self.isolations,
                "presence_unheard_s": round(unheard, 1)}
