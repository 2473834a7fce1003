"""Which aggregator owns which user: the two aggregators closest to the user's key in the
aggregator DHT (services/peers/aggregator_dht.py), in the DHT's own metric.

The DHT's routing table is the source: `find_local_closest_peers(user_key)` ranks its peers,
and we add ourselves when we are an aggregator (a table never holds its own node). The table is
kept equal to the live aggregators: presence (gossipsub) and RPC failures remain the liveness
signal, so a live aggregator is added by hand (py-libp2p's DHT learns peers only from lookups
and queries) and one that presence declares dead, or a non-aggregator a server picked up from
its queries, is removed. A network lookup (`find_closest_peers_network`) runs once we are first
connected, every `dht_lookup_interval_s`, and whenever the table lacks a live aggregator; the
aggregators it finds that we do not know yet are dialled, which is how a peer started with one
bootstrap address meets the aggregators.

Deterministic: every peer ranks the same live set with the same metric. Between a presence note
and the table catching up (one task switch), a live aggregator missing from the table is ranked
with the library's same metric function rather than left out, so no answer depends on timing.

Cheap: masters route ~10,000 readings/s. Answers are cached per user and dropped when the live
set (Membership.version) or the table (its version) changes: a hit is a dict lookup.
"""

from __future__ import annotations

import logging
import time

import multiaddr
import trio
from libp2p.kad_dht.utils import sort_peer_ids_by_distance
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from services.peers.aggregator_dht import user_key

log = logging.getLogger(__name__)
_CACHE_MAX = 200_000


class Directory:
    def __init__(self, host, dht, membership, settings, *, aggregator: bool):
        self.host = host
        self.dht = dht
        self.table = dht.routing_table
        self.membership = membership
        self.settings = settings
        self.self_name = membership.self_id
        self.self_id = host.get_id()
        self.aggregator = aggregator
        self.lookups = 0
        self._cache: dict[str, tuple[str | None, str | None]] = {}
        self._seen: tuple[int, int] | None = None  # (membership, table) versions cached for
        self._live: set[ID] = set()
        self._outside_table: list[ID] = []  # live aggregators to rank the table does not hold
        self._names: dict[ID, str] = {}
        self._lookup_due = 0.0

    # -- assignment ---------------------------------------------------------------------------
    def primary_and_replica(self, user_id: str) -> tuple[str | None, str | None]:
        if self._seen != (self.membership.version, self.table.version):
            self._reset()
        hit = self._cache.get(user_id)
        if hit is None:
            order = self.ranked(user_id)
            hit = (order[0] if order else None, order[1] if len(order) > 1 else None)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[user_id] = hit
        return hit

    def ranked(self, user_id: str) -> list[str]:
        """Every live aggregator, closest to the user's key first."""
        if self._seen != (self.membership.version, self.table.version):
            self._reset()
        key = user_key(user_id)
        order = [p for p in self.table.find_local_closest_peers(key, self.table.size())
                 if p in self._live]
        if len(order) != len(self._live) - len(self._outside_table):
            # the table lost a live peer behind our back (the library's stale-peer check
            # removes from a bucket directly): rank every live aggregator until sync re-adds it
            order = sort_peer_ids_by_distance(key, list(self._live))
        elif self._outside_table:
            order = sort_peer_ids_by_distance(key, order + self._outside_table)
        return [self._names[p] for p in order]

    def _reset(self) -> None:
        self._seen = (self.membership.version, self.table.version)
        self._cache.clear()
        live = [name for name in self.membership.live("aggregation") if name != self.self_name]
        self._names = {ID.from_base58(name): name for name in live}
        self._live = set(self._names)
        self._outside_table = [p for p in self._live if not self.table.peer_in_table(p)]
        if self.aggregator:
            self._names[self.self_id] = self.self_name
            self._live.add(self.self_id)
            self._outside_table.append(self.self_id)

    def metrics(self) -> dict:
        return {"directory_dht_lookups": self.lookups,
                "directory_dht_table_peers": self.table.size()}

    # -- keeping the table equal to the live aggregators -----------------------------------------
    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            changed = self.membership.changed
            missing = await self.sync()
            now = time.monotonic()
            if self.host.get_connected_peers() and (missing or now >= self._lookup_due):
                self._lookup_due = now + self.settings.dht_lookup_interval_s
                try:
                    await self.discover()
                except Exception as exc:  # noqa: BLE001  a lookup is best effort; retried
                    log.info("DHT lookup failed: %s", type(exc).__name__)
            with trio.move_on_after(self.settings.reconnect_interval_s):
                await changed.wait()

    async def sync(self) -> bool:
        """Add live aggregators the table lacks, remove peers presence knows are not live
        aggregators (dead ones, and clients a server picked up). Peers presence has not heard
        of yet stay: they are what lookups discover. True if a live aggregator is still missing."""
        live = set(self.membership.live("aggregation")) - {self.self_name}
        in_table = {peer.to_base58(): peer for peer in self.table.get_peer_ids()}
        missing = False
        for name in sorted(live - in_table.keys()):
            record = self.membership.peers.get(name)
            addrs = [multiaddr.Multiaddr(a) for a in record.addrs] if record else []
            if not addrs or not await self.table.add_peer(
                    PeerInfo(ID.from_base58(name), addrs), skip_server_mode_check=True):
                missing = True
        live = set(self.membership.live("aggregation"))  # it may have moved while we added
        for name, peer in in_table.items():
            if name not in live and name in self.membership.peers:
                self.table.remove_peer(peer)
        return missing

    async def discover(self) -> list[ID]:
        """The DHT's lookup for our own key (Kademlia's way to fill a table), then a dial to
        each aggregator found that we are not connected to, so presence and RPC can follow."""
        found = await self.dht.peer_routing.find_closest_peers_network(self.self_id.to_bytes())
        self.lookups += 1
        connected = set(self.host.get_connected_peers())
        fresh = [p for p in found if p != self.self_id and p not in connected
                 and p.to_base58() not in self.membership.peers]
        async with trio.open_nursery() as nursery:
            for peer in fresh:
                nursery.start_soon(self._dial, peer)
        return found

    async def _dial(self, peer: ID) -> None:
        with trio.move_on_after(max(2.0, self.settings.reconnect_interval_s * 3)):
            try:
                await self.host.connect(PeerInfo(peer, self.host.get_peerstore().addrs(peer)))
                return
            except Exception as exc:  # noqa: BLE001
                log.debug("dial %s failed: %s", peer.to_base58()[-8:], type(exc).__name__)
        self.table.remove_peer(peer)  # failed or timed out: not an aggregator we can reach
