"""Which aggregator owns which user: Kademlia's XOR metric over the live aggregators.

A user's key and each aggregator's key are sha256 digests (of the userId and of the peer id); the
aggregators closest to the user's key in XOR distance — the peers a Kademlia lookup for that key
converges on — are its primary and its replica. Every peer computes the same ranking from the same
live set, so assignment is deterministic; when an aggregator joins or leaves, only the users whose
closest peers changed move (the rebalance loop hands their state over).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache


@lru_cache(maxsize=200_000)
def _key(identifier: str) -> int:
    return int.from_bytes(hashlib.sha256(identifier.encode()).digest(), "big")


def ranked(user_id: str, peers: list[str]) -> list[str]:
    target = _key(user_id)
    return sorted(peers, key=lambda peer: _key(peer) ^ target)


def primary_and_replica(user_id: str, peers: list[str]) -> tuple[str | None, str | None]:
    order = ranked(user_id, peers)
    return (order[0] if order else None, order[1] if len(order) > 1 else None)
