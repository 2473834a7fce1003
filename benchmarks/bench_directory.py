"""User → aggregator assignment through the aggregator DHT → benchmarks/directory.json.

Five aggregators and a master in one process (real libp2p hosts on 127.0.0.1, the master given
only the first aggregator's address); on the master:

- directory_route_cached_us: one `directory.primary_and_replica(user)` for a user already seen
  (what a master pays per reading while the aggregator set holds still), mean over 10,000 users;
- directory_route_uncached_us: the same right after the set changed (every answer recomputed:
  the DHT table's `find_local_closest_peers` + ourselves ranked in);
- previous_xor_ranking_us: the ranking it replaced (`assignment.primary_and_replica` over the
  live list), per reading, for comparison;
- directory_lookup_p50_ms / _max_ms: one network lookup (`find_closest_peers_network` + dialing
  new finds) over 20 runs, all peers already connected.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.peers.admission.local import admit_locally
from services.peers.assignment import primary_and_replica
from services.peers.node import PeerNode
from services.peers.settings import PeersSettings

OUT = Path(__file__).with_name("directory.json")
AGGREGATORS = 5
USERS = [f"12D3KooWuser{i:08d}" for i in range(10_000)]
FAST = {"reconnect_interval_s": 0.25}  # presence at its defaults: 1 s, 4 s


def per_call_us(fn, users, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for user in users:
            fn(user)
    return (time.perf_counter() - start) / (len(users) * repeat) * 1e6


async def measure(data_dir: Path) -> dict:
    async with trio.open_nursery() as nursery:
        def settings(name, roles, bootstrap=()):
            admit_locally(data_dir, {name: tuple(roles)})
            return PeersSettings(data_dir=data_dir, name=name, roles=tuple(roles),
                                 bootstrap=tuple(bootstrap), **FAST)

        first = PeerNode(settings("a0", ["aggregation"]))
        await nursery.start(first.run)
        for i in range(1, AGGREGATORS):
            await nursery.start(PeerNode(settings(f"a{i}", ["aggregation"], [first.address])).run)
        master = PeerNode(settings("m", ["master"], [first.address]))
        await nursery.start(master.run)
        directory = master.directory
        with trio.fail_after(60):
            while len(directory.ranked("x")) < AGGREGATORS or directory.lookups < 1:
                await trio.sleep(0.1)
        # Each timing below is one synchronous stretch: presence (same thread) cannot change the
        # live set in between. The users are new to the cache, so the first pass misses.
        uncached = per_call_us(directory.primary_and_replica, USERS)
        cached = per_call_us(directory.primary_and_replica, USERS, repeat=5)
        live = master.membership.live("aggregation")
        previous = per_call_us(lambda user: primary_and_replica(user, live), USERS)
        lookups = []
        for _ in range(20):
            start = time.perf_counter()
            await directory.discover()
            lookups.append((time.perf_counter() - start) * 1000)
        nursery.cancel_scope.cancel()
    return {
        "directory_aggregators_count": AGGREGATORS,
        "directory_route_cached_us": round(cached, 3),
        "directory_route_uncached_us": round(uncached, 2),
        "previous_xor_ranking_us": round(previous, 2),
        "directory_lookup_p50_ms": round(statistics.median(lookups), 2),
        "directory_lookup_max_ms": round(max(lookups), 2),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = trio.run(measure, Path(folder))
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
