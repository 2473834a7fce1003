"""How often a peer announces its presence, and how long the others wait for its next note.

Every note reaches every peer, so at a fixed interval the cluster's presence work grows with the
square of its processes: on a 2-core machine an 11-process cluster at one note a second spent
both cores on presence alone, views flapped and aggregators stalled
(docs/decisions/2026-12-03-presence-cost-at-scale.md). So the *network* has a budget of notes
per second (`presence_budget_per_s`) and each peer announces every `peers / budget`
seconds, never more often than `presence_interval_s`: per-peer presence work stays flat as the
cluster grows, and detecting a silent peer takes longer in proportion (an RPC failure still
marks a peer dead at once). The size counted is every peer heard from in the last
`COUNTED_FOR_S`, not the live ones: counting live peers is a feedback loop (an overloaded peer
whose view flaps counts fewer peers, announces faster and adds load).

Each note says the interval its sender uses, and a receiver waits `TIMEOUT_INTERVALS` of them
(at least `presence_timeout_s`) before it calls the sender gone, so peers need not agree on the
cluster's size. An interval at most doubles from one note to the next, so the wait set by the
previous note always covers the gap to the next one. A note's interval is believed only up to
`LONGEST_INTERVAL_S`: an admitted peer cannot make itself look alive for long after it died.
"""

from __future__ import annotations

import math

TIMEOUT_INTERVALS = 4  # a peer is gone after this many of its own intervals without a note
# The cluster's size, for pacing, counts every peer heard from in this long, live or not: a peer
# that takes others for dead when it is overloaded must not announce faster (more load) for it.
COUNTED_FOR_S = 120.0
MAX_GROWTH = 2.0  # an interval at most doubles from one note to the next (see above)
LONGEST_INTERVAL_S = 30.0


def next_interval(cluster_size: int, shortest_s: float, budget_per_s: float,
                  previous_s: float | None) -> float:
    """The interval to announce now: the network's budget shared by `cluster_size` peers
    (heard from lately, ourselves included), at least `shortest_s`; `budget_per_s` ≤ 0 keeps
    `shortest_s` fixed."""
    wanted = shortest_s
    if budget_per_s > 0:
        wanted = max(shortest_s, cluster_size / budget_per_s)
    if previous_s is not None:
        wanted = min(wanted, previous_s * MAX_GROWTH)
    return min(wanted, max(shortest_s, LONGEST_INTERVAL_S))


def allowed_silence(announced_s: object, timeout_s: float) -> float:
    """How long a peer that announced `announced_s` may stay silent before it is gone; a note
    without a usable interval (older peers, a malformed value) gets `timeout_s`."""
    if isinstance(announced_s, bool) or not isinstance(announced_s, (int, float)):
        return timeout_s
    if not math.isfinite(announced_s) or announced_s <= 0:
        return timeout_s
    return max(timeout_s, TIMEOUT_INTERVALS * min(float(announced_s), LONGEST_INTERVAL_S))
