"""A replica's watch on its primary: no acknowledged reading may wait forever on one peer.

A replica holds every reading its primary acknowledged (the primary replicates before it answers
the master), so it sees the same windows fall due. A window due here that stays unclosed for
`takeover_after_s` was acknowledged and then not delivered: the primary is stuck, broken or
dishonest (an admitted aggregator that acks and drops). The replica then closes it itself —
every step downstream is idempotent on (device, window), so an honest primary that was merely
slow costs a repeat, never a second record."""

from __future__ import annotations


class OverdueWatch:
    def __init__(self, takeover_after_s: float):
        self.takeover_after_s = takeover_after_s
        self._due_since: dict[tuple[str, int], float] = {}

    def overdue(self, due_here: list[tuple[str, int, int]], now: float) -> list[tuple[str, int, int]]:
        """Of the windows due here whose primary is another peer (device, start, state), those
        due for takeover_after_s. Forgets windows no longer due (closed meanwhile)."""
        self._due_since = {(d, w): self._due_since.get((d, w), now) for d, w, _ in due_here}
        return [(d, w, s) for d, w, s in due_here
                if now - self._due_since[(d, w)] >= self.takeover_after_s]
