"""A peer no new stream can be opened to, over several connections (both ends dialled at once),
has them all closed so the reconnect loop makes one that works; over one connection it is only
slow and is left alone. At the SDK boundary: py-libp2p's state where the other end no longer
serves one of two connections cannot be produced on demand with real hosts (it showed in the
chaos kill matrix), so the host here is a stand-in whose `new_stream` never completes."""

from types import SimpleNamespace

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID

from services.peers.messages.agg_state import MERGE, WindowState
from services.peers.rpc import PeerUnavailable, Rpc

OTHER = ID.from_pubkey(create_new_key_pair().public_key).to_base58()


class _Host:
    def __init__(self, connections: int):
        self.closed: list[ID] = []
        self.connections = [object()] * connections
        network = SimpleNamespace(get_connections=lambda peer: self.connections,
                                  close_peer=self._close_peer)
        self.get_network = lambda: network
        self.get_id = lambda: ID.from_pubkey(create_new_key_pair().public_key)
        self.set_stream_handler = lambda protocol, handler: None

    async def new_stream(self, peer, protocols):
        await trio.sleep_forever()  # the other end never answers on the connection picked

    async def _close_peer(self, peer):
        self.closed.append(peer)
        self.connections = []


async def _admitted(peer_id):
    return object()


@pytest.mark.parametrize(("connections", "closed"), [(2, True), (1, False)])
def test_no_new_stream__several_connections_closed__a_single_one_kept(connections, closed):
    host = _Host(connections)
    rpc = Rpc(host, timeout_s=0.2, gate=SimpleNamespace(admit=_admitted))

    async def call():
        with pytest.raises(PeerUnavailable):
            await rpc.call(OTHER, MERGE, WindowState.of({}))

    trio.run(call)
    assert host.closed == ([ID.from_base58(OTHER)] if closed else [])
    assert rpc.metrics()["rpc_duplicate_connections_closed_total"] == int(closed)
