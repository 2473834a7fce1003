"""The aggregator DHT: a py-libp2p Kademlia DHT (libp2p.kad_dht) whose servers are exactly the
aggregators. Aggregators run it in server mode, every other role in client mode, so a lookup only
ever returns peers that serve the protocol — and a client never lands in anyone's answer.

py-libp2p 0.8.1 traps this module works around (all silent):
- `KadDHT(protocol_prefix=...)` is stored and ignored: every module of libp2p.kad_dht speaks the
  hard-coded `/ipfs/kad/1.0.0`. We rebind that constant, process-wide, to our own protocol id,
  so our DHT can never take part in (or answer) a public IPFS DHT on a shared connection.
- The routing table's subnet-diversity cap (2 peers of one /24 per bucket) applies only to
  globally routable addresses; loopback is exempt, but a deployment on one public subnet would
  lose aggregators silently: `max_peers_per_subnet=0` turns it off.
- A server adds every peer that queries it to its table, clients included, and hands them out
  in answers; the directory removes peers that presence knows are not live aggregators.
- A lookup whose table holds fewer than 5 peers also queries every connected peer, clients
  included: each refusal is a 7-line ERROR from the host. We skip peers that identify says do
  not serve our protocol.
- Each lookup logs WARNINGs for streams the other side closed: noise, silenced.
- A server adds a querying peer to its table only if its peerstore already holds the peer's
  addresses, and it checks before reading the query (whose signed record carries them). On a
  fresh connection identify often has not delivered them yet, so a joining aggregator's first
  lookup left it out of the answers the next peer got: we wait (bounded) for identify instead.
"""

from __future__ import annotations

import hashlib
import logging

import trio
from libp2p.custom_types import TProtocol
from libp2p.kad_dht import common, kad_dht, peer_routing, provider_store, value_store
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.kad_dht.peer_routing import PeerRouting
from libp2p.kad_dht.routing_table import RoutingTable
from libp2p.peer.peerinfo import PeerInfo
from libp2p.peer.peerstore import PeerStoreError

PROTOCOL_ID = TProtocol("/pulseledger/aggregators/kad/1.0.0")
_LIBRARY_PROTOCOL = TProtocol("/ipfs/kad/1.0.0")
_MODULES_WITH_PROTOCOL = (common, kad_dht, peer_routing, provider_store, value_store)


def _speak_our_protocol() -> None:
    """Rebind the library's hard-coded protocol id (see the module docstring). Refuses to run
    against a py-libp2p whose modules no longer carry the constant we expect to replace."""
    for module in _MODULES_WITH_PROTOCOL:
        current = getattr(module, "PROTOCOL_ID", None)
        if current not in (_LIBRARY_PROTOCOL, PROTOCOL_ID):
            raise RuntimeError(f"{module.__name__}.PROTOCOL_ID is {current!r}: py-libp2p changed")
        module.PROTOCOL_ID = PROTOCOL_ID


class CountingRoutingTable(RoutingTable):
    """The library's routing table, plus a version that moves whenever its set of peers does,
    so a cache built on the table knows when to drop its answers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = 0

    async def add_peer(self, peer_obj, *, skip_server_mode_check: bool = False) -> bool:
        peer_id = peer_obj.peer_id if isinstance(peer_obj, PeerInfo) else peer_obj
        before = self.peer_in_table(peer_id)
        added = await super().add_peer(peer_obj, skip_server_mode_check=skip_server_mode_check)
        if added and not before:
            self.version += 1
        return added

    def remove_peer(self, peer_id) -> bool:
        removed = super().remove_peer(peer_id)
        if removed:
            self.version += 1
        return removed


class IdentifiedPeersDHT(KadDHT):
    """The library's DHT, but a peer that opens a DHT stream to us before identify has told us
    its addresses is added once identify has (see the module docstring), not skipped."""

    IDENTIFY_WAIT_S = 2.0
    _POLL_S = 0.01

    async def add_peer(self, peer_id, *, skip_server_mode_check: bool = False) -> bool:
        with trio.move_on_after(self.IDENTIFY_WAIT_S):
            while not self._known_addrs(peer_id):
                await trio.sleep(self._POLL_S)
        return await super().add_peer(peer_id, skip_server_mode_check=skip_server_mode_check)

    def _known_addrs(self, peer_id) -> bool:
        try:
            return bool(self.host.get_peerstore().addrs(peer_id))
        except PeerStoreError:  # not heard of yet, or its record expired
            return False


class ServersOnlyPeerRouting(PeerRouting):
    """The library's lookup, minus queries to peers identify already showed are no DHT
    servers (the library would query them, fail, log an ERROR and drop them)."""

    async def _query_peer_for_closest(self, peer, target_key: bytes) -> list:
        try:
            protocols = self.host.get_peerstore().get_protocols(peer)
        except Exception:  # noqa: BLE001  unknown to the peerstore: let the library try
            protocols = []
        if protocols and PROTOCOL_ID not in protocols:
            return []
        return await super()._query_peer_for_closest(peer, target_key)


def make_aggregator_dht(host, *, server: bool) -> KadDHT:
    """Server mode for aggregators, client mode for the rest. No random walk (it would refresh
    towards random keys through whoever we know; our directory looks up by itself), no
    subnet-diversity cap."""
    _speak_our_protocol()
    logging.getLogger("libp2p.kad_dht").setLevel(logging.ERROR)  # per-lookup WARNING noise
    dht = IdentifiedPeersDHT(host, DHTMode.SERVER if server else DHTMode.CLIENT, enable_random_walk=False,
                 protocol_prefix=TProtocol("/pulseledger/aggregators"),
                 enable_providers=False, enable_values=False, max_peers_per_subnet=0)
    dht.routing_table = CountingRoutingTable(host.get_id(), host, max_peers_per_subnet=0)
    dht.peer_routing = ServersOnlyPeerRouting(host, dht.routing_table)
    dht.provider_store.peer_routing = dht.peer_routing
    return dht


def user_key(user_id: str) -> bytes:
    """A user's key in the DHT: 32 bytes, which FIND_NODE accepts (it refuses keys over 50 bytes
    that are not multihashes — a base58 peer id string is 52)."""
    return hashlib.sha256(user_id.encode()).digest()
