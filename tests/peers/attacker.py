"""A rogue peer: a fresh py-libp2p key on 127.0.0.1 that can reach our peers' TCP ports (Noise,
Yamux, gossipsub with signed messages: the same stack as ours), optionally holding a credential
(expired, revoked or of the wrong role), and nothing else. By default it also holds the
network's PSK (the test operator's): the PSK is one secret every peer shares, so admission must
hold on its own — these attacks are on admission; `network_psk=None` is a stranger to both. It tries what the issue-13 attacker
did and reports what it got."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import multiaddr
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service
from pulseledger_testkit.admission import NETWORK_PSK

from services.peers.admission.gate import HELLO
from services.peers.host import listen_addr, make_host
from services.peers.membership import TOPIC, make_gossipsub
from services.peers.rpc import PROTOCOL, read_frame, reset_quietly, write_frame
from services.peers.settings import PeersSettings

ALL_CLAIMED = ["master", "aggregation", "prediction", "storage", "notification"]
FAKE_PEER = "12D3KooWNobodyNobodyNobodyNobodyNobodyNobodyNobody1"


@dataclass
class Outcome:
    replies: dict[str, dict | None] = field(default_factory=dict)  # op -> reply (None: cut off)
    heard_presence: int = 0


class Attacker:
    def __init__(self, credential: dict | None = None, timeout_s: float = 10.0,
                 network_psk: str | None = NETWORK_PSK.hex()):
        self.key_pair = create_new_key_pair()
        self.host = make_host(self.key_pair, network_psk)
        self.peer_id = self.host.get_id().to_base58()
        self.credential = credential
        self.timeout_s = timeout_s
        self.outcome = Outcome()
        self.host.set_stream_handler(HELLO, self._answer_hello)

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with self.host.run([listen_addr("127.0.0.1", 0)]):
            gossipsub = make_gossipsub(PeersSettings())
            self.pubsub = Pubsub(self.host, gossipsub)
            async with background_trio_service(self.pubsub), background_trio_service(gossipsub):
                await self.pubsub.wait_until_ready()
                subscription = await self.pubsub.subscribe(TOPIC)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._listen, subscription)
                    task_status.started(self)
                    await trio.sleep_forever()

    async def _listen(self, subscription) -> None:
        while True:
            message = await subscription.get()
            if ID(message.from_id).to_base58() != self.peer_id:
                self.outcome.heard_presence += 1

    async def _answer_hello(self, stream) -> None:
        """A peer that dialled us presents first; we answer with whatever we hold."""
        await read_frame(stream, 16 * 1024)
        await write_frame(stream, {"credential": self.credential})

    # -- attacks ------------------------------------------------------------------------------
    async def dial(self, address: str) -> None:
        """Connect and, holding a credential, present it as a peer would."""
        target = multiaddr.Multiaddr(address)
        info = PeerInfo(ID.from_base58(target.value_for_protocol("p2p")),
                        [target.decapsulate(multiaddr.Multiaddr(f"/p2p/{target.value_for_protocol('p2p')}"))])
        await self.host.connect(info)
        if self.credential is not None:
            await self._exchange(info.peer_id, HELLO, {"credential": self.credential})

    def connected_to(self, peer_id: str) -> bool:
        return bool(self.host.get_network().get_connections(ID.from_base58(peer_id)))

    async def call(self, peer_id: str, op: str, body: dict) -> dict | None:
        reply = await self._exchange(ID.from_base58(peer_id), PROTOCOL, {"op": op, "body": body})
        self.outcome.replies[op] = reply
        return reply

    async def _exchange(self, peer: ID, protocol: str, frame: dict) -> dict | None:
        """One frame out, one back; None when the peer cut us off (reset, closed, refused)."""
        with trio.move_on_after(self.timeout_s):
            stream = None
            try:
                stream = await self.host.new_stream(peer, [protocol])
                await write_frame(stream, frame)
                return await read_frame(stream)
            except Exception:  # noqa: BLE001
                return None
            finally:  # one stream a call, closed after it (a peer holds only a few open)
                if stream is not None:
                    await reset_quietly(stream)
        return None

    async def announce(self, addresses: list[str]) -> None:
        """Presence notes claiming every role: for ourselves, and for a peer that does not exist."""
        for peer_id in (self.peer_id, FAKE_PEER):
            note = {"peer_id": peer_id, "roles": ALL_CLAIMED, "addrs": addresses,
                    "credential": self.credential}
            try:
                await self.pubsub.publish(TOPIC, json.dumps(note).encode())
            except Exception:  # noqa: BLE001, S110
                pass  # no one to publish to: that is the point
