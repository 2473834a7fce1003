"""Pubsub that numbers this peer's messages from the clock's microsecond at start, not its second.

Gossip knows a message by (sender, sequence number) and remembers it for two minutes
(`seen_messages`, and the router's equivocation check). py-libp2p 0.8.1 starts a peer's numbers
at the wall clock's second (`int(time.time())`) and adds one a message. A peer that published
faster than once a second (presence every 0.25 s in small clusters, revocation lists besides)
numbered past the clock, so after a restart under the same peer id its new messages reused
numbers the others had seen: its presence notes were dropped as duplicates until its count passed
the old one, and for that long it was taken for dead (seen in the hosts matrix, 2026-12-06).
Counting from the microsecond, a peer would have to publish a million messages a second to run
ahead of the clock. The numbers stay 8 bytes (good until the year 2554).
"""

from __future__ import annotations

import time

from libp2p.pubsub.pubsub import Pubsub


class ClockSeqnoPubsub(Pubsub):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counter = time.time_ns() // 1_000
