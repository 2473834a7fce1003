"""The gate every connection passes: a credential exchange once per connection, bound to the
remote peer id Noise verified (`stream.muxed_conn.peer_id`), never to anything in a message.

On a new connection the side that dialled opens `/pulseledger/admission/1.0.0` and presents its
credential; the side that listened checks it and only then answers with its own, so one exchange
admits both ways, and a stranger who dials us learns nothing (not even our roles). We dial only
peers we heard of from admitted peers or were given as bootstrap addresses. Every other protocol we serve (RPC, gossip,
DHT, identify) is guarded: its handler runs only for an admitted peer, and our own gossip
stream to a peer opens only after admission. A refused peer is disconnected, counted by reason
(`admission_refused_total{reason}`) and logged without anything it sent.

A peer that dialled us holds a connection (Noise, the muxer) while it has not presented yet, up to
the admission timeout. Whoever holds the network's PSK can open such connections (a revoked peer
keeps it), so they are bounded: at most `pending_max` at once, `pending_per_address` from one
remote address; one beyond is closed at once (`admission_refused_total{reason="busy"}`). An
honest peer presents within milliseconds of connecting, so the bound costs it nothing but a
redial while a flood lasts, and a flood from one address leaves room for peers elsewhere.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import trio
from libp2p.abc import INotifee
from libp2p.peer.id import ID

from services.peers.admission.credential import Credential, Refused, check
from services.peers.rpc import read_frame, reset_quietly, write_frame

HELLO = "/pulseledger/admission/1.0.0"
MAX_HELLO = 16 * 1024
QUEUED_PEERS = 1024  # new connections waiting for their exchange task to start
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingBounds:
    """How many inbound connections may wait to present a credential (module docstring)."""

    pending_max: int = 256
    pending_per_address: int = 32


class AdmissionGate:
    def __init__(self, host, operator, own_document: dict, revocations, timeout_s: float,
                 bounds: PendingBounds = PendingBounds()):
        self.host = host
        self.bounds = bounds
        self.operator = operator
        self.revocations = revocations
        self.timeout_s = timeout_s
        self.self_id = host.get_id().to_base58()
        self.own_document = own_document
        # raises Refused at start: a peer without a valid credential must not run at all
        self.own = check(operator, own_document, self.self_id, revocations.revoked)
        self.admitted: dict[str, Credential] = {}
        self.refused: Counter[str] = Counter()
        self._pending: dict[str, trio.Event] = {}  # exchanges we run
        self._arrived: dict[str, trio.Event] = {}  # exchanges we wait for (they dialled us)
        self._arrived_from: dict[str, str] = {}  # … and the remote address each came from
        self._waiting_per_address: Counter[str] = Counter()
        self._nursery: trio.Nursery | None = None
        self._new_peers_send, self._new_peers = trio.open_memory_channel[str](QUEUED_PEERS)
        host.set_stream_handler(HELLO, self._serve_hello)
        host.get_network().register_notifee(_GateNotifee(self))
        revocations.on_change = lambda current: self._drop_revoked()

    # -- queries ------------------------------------------------------------------------------
    def credential_of(self, peer_id: str) -> Credential | None:
        """The admitted credential of a connected peer, if it is still current and not revoked."""
        credential = self.own if peer_id == self.self_id else self.admitted.get(peer_id)
        if credential is None or not credential.current() or self.revocations.revoked(credential):
            return None
        return credential

    def roles_of(self, peer_id: str) -> frozenset[str]:
        credential = self.credential_of(peer_id)
        return credential.roles if credential is not None else frozenset()

    def metrics(self) -> dict:
        out = {"admission_admitted_peers": len(self.admitted),
               "admission_waiting_peers": len(self._arrived)}
        for reason, count in self.refused.items():
            out[f'admission_refused_total{{reason="{reason}"}}'] = count
        return out

    # -- admitting ----------------------------------------------------------------------------
    async def admit(self, peer_id: str) -> Credential | None:
        """The peer's credential, exchanging credentials first if this connection has not yet;
        None (and the connection closed) if it is not admitted."""
        credential = self.credential_of(peer_id)
        if credential is not None:
            return credential
        stale = self.admitted.get(peer_id)
        if stale is not None:  # expired or revoked since it was admitted: out it goes
            self._stop_waiting(peer_id)  # a place its new connection took: it waits no more
            await self._refuse(peer_id, "revoked" if self.revocations.revoked(stale) else "expired")
            return None
        if not self._we_dialled(peer_id):
            await self._await_presentation(peer_id)
            return self.credential_of(peer_id)
        pending = self._pending.get(peer_id)
        if pending is not None:
            await pending.wait()
            return self.credential_of(peer_id)
        self._pending[peer_id] = trio.Event()
        try:
            await self._exchange(peer_id)
        finally:
            self._pending.pop(peer_id).set()
        return self.credential_of(peer_id)

    async def _await_presentation(self, peer_id: str) -> None:
        """It dialled us: it must present its credential within the admission timeout, if a
        waiting place is left (its connection took one, unless a stream of it came first)."""
        if peer_id not in self._arrived and not self._may_wait(peer_id,
                                                               self._address_of(peer_id)):
            return  # no place: not admitted (its connection is closed, or is being)
        arrived = self._arrived[peer_id]
        with trio.move_on_after(self.timeout_s):
            await arrived.wait()
        if not arrived.is_set() and self._arrived.get(peer_id) is arrived:
            self._stop_waiting(peer_id)
            if self._connected(peer_id):
                await self._refuse(peer_id, "no_credential")

    def _presented(self, peer_id: str) -> None:
        arrived = self._stop_waiting(peer_id)
        if arrived is not None:
            arrived.set()

    def _stop_waiting(self, peer_id: str) -> trio.Event | None:
        address = self._arrived_from.pop(peer_id, None)
        if address is not None:
            self._waiting_per_address[address] -= 1
            if self._waiting_per_address[address] <= 0:
                del self._waiting_per_address[address]
        return self._arrived.pop(peer_id, None)

    def _address_of(self, peer_id: str) -> str:
        connections = self.host.get_network().get_connections(ID.from_base58(peer_id))
        return _remote_host(connections[0]) if connections else "?"

    def _may_wait(self, peer_id: str, address: str) -> bool:
        """Room for one more inbound connection to wait for its credential; if there is, its
        place is taken now (the exchange task starts later, from the queue)."""
        if peer_id in self._arrived:
            return True
        if (len(self._arrived) >= self.bounds.pending_max
                or self._waiting_per_address[address] >= self.bounds.pending_per_address):
            return False
        self._arrived[peer_id] = trio.Event()
        self._arrived_from[peer_id] = address
        self._waiting_per_address[address] += 1
        return True

    def _we_dialled(self, peer_id: str) -> bool:
        for conn in self.host.get_network().get_connections(ID.from_base58(peer_id)):
            if getattr(conn.muxed_conn, "is_initiator_value", True):
                return True
        return False

    async def _exchange(self, peer_id: str) -> None:
        stream = None
        try:
            with trio.fail_after(self.timeout_s):
                stream = await self.host.new_stream(ID.from_base58(peer_id), [HELLO])
                await write_frame(stream, {"credential": self.own_document})
                reply = await read_frame(stream, MAX_HELLO)
            self._accept(peer_id, reply.get("credential"))
        except Refused as exc:
            await self._refuse(peer_id, exc.reason)
        except (Exception, trio.TooSlowError) as exc:  # noqa: BLE001
            # it does not speak our admission protocol, refused us, or went away
            if self._connected(peer_id):
                log.debug("admission exchange with %s failed: %s", peer_id[-8:], type(exc).__name__)
                await self._refuse(peer_id, "no_credential")
        finally:
            if stream is not None:
                with trio.CancelScope(shield=True):
                    try:
                        await stream.close()
                    except Exception:  # noqa: BLE001, S110
                        pass

    async def _serve_hello(self, stream) -> None:
        caller = stream.muxed_conn.peer_id.to_base58()
        try:
            with trio.fail_after(self.timeout_s):
                request = await read_frame(stream, MAX_HELLO)
                self._accept(caller, request.get("credential"))
                await write_frame(stream, {"credential": self.own_document})
        except Refused as exc:
            await self._refuse(caller, exc.reason, stream)
        except (Exception, trio.TooSlowError):  # noqa: BLE001
            await self._refuse(caller, "malformed", stream)
        finally:
            self._presented(caller)

    def check_presented(self, document, peer_id: str) -> Credential:
        """A credential presented elsewhere (a presence note), for the authenticated sender
        `peer_id`; Refused (and counted) if it does not admit that peer."""
        try:
            return check(self.operator, document, peer_id, self.revocations.revoked)
        except Refused as exc:
            self.refused[exc.reason] += 1
            raise

    def _accept(self, peer_id: str, document) -> None:
        self.admitted[peer_id] = check(self.operator, document, peer_id, self.revocations.revoked)

    async def _refuse(self, peer_id: str, reason: str, stream=None) -> None:
        self.admitted.pop(peer_id, None)
        self.refused[reason] += 1
        log.warning("peer admission refused: peer=%s reason=%s", peer_id[-8:], reason)
        if stream is not None:
            await reset_quietly(stream)
        await self._close(peer_id)

    def _connected(self, peer_id: str) -> bool:
        return bool(self.host.get_network().get_connections(ID.from_base58(peer_id)))

    def _drop_revoked(self) -> None:
        for peer_id, credential in list(self.admitted.items()):
            if self.revocations.revoked(credential):
                self._new_peers_send.send_nowait(peer_id)  # run() disconnects it

    # -- guarding -----------------------------------------------------------------------------
    def guard_handlers(self) -> None:
        """Wrap every protocol handler registered so far, and any registered later (the DHT
        re-registers on a mode switch): only an admitted peer's stream reaches it."""
        handlers = self.host.get_mux().handlers
        for protocol, handler in list(handlers.items()):
            if protocol != HELLO and handler is not None:
                handlers[protocol] = self._guarded(handler)
        register = self.host.set_stream_handler

        def set_guarded_stream_handler(protocol, handler) -> None:
            register(protocol, handler if protocol == HELLO else self._guarded(handler))

        self.host.set_stream_handler = set_guarded_stream_handler

    def _guarded(self, handler):
        async def guarded(stream) -> None:
            if await self.admit(stream.muxed_conn.peer_id.to_base58()) is None:
                await reset_quietly(stream)
                return
            await handler(stream)
        return guarded

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Admit (or throw out) every new connection at once, even one that never opens a stream;
        re-check peers whose credential a new revocation list names."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            async for peer_id in self._new_peers:
                nursery.start_soon(self.admit, peer_id)

    def connected(self, peer_id: str, address: str) -> None:
        """A new connection, from `address` (the remote IP): one that dialled us and has not
        presented yet takes a waiting place, or is closed at once when none is left."""
        inbound = self.credential_of(peer_id) is None and not self._we_dialled(peer_id)
        if inbound and self._nursery is not None and not self._may_wait(peer_id, address):
            self._shed(peer_id)
            return
        try:
            self._new_peers_send.send_nowait(peer_id)
        except trio.WouldBlock:  # a storm of connections
            if inbound and self._nursery is not None:
                self._stop_waiting(peer_id)
                self._shed(peer_id)
            # one we dialled is still checked by its first guarded stream

    def _shed(self, peer_id: str) -> None:
        """Close a connection no waiting place is left for. Logged at the 1st, 2nd, 4th, 8th …
        time, so a flood cannot flood the log."""
        self.refused["busy"] += 1
        count = self.refused["busy"]
        if count & (count - 1) == 0:
            log.warning("peer admission: %d connection(s) closed unheard so far: too many "
                        "waiting to present a credential", count)
        self._nursery.start_soon(self._close, peer_id)

    async def _close(self, peer_id: str) -> None:
        with trio.CancelScope(shield=True):
            try:
                await self.host.get_network().close_peer(ID.from_base58(peer_id))
            except Exception as exc:  # noqa: BLE001
                log.debug("closing %s failed: %s", peer_id[-8:], type(exc).__name__)

    def disconnected(self, peer_id: str) -> None:
        if not self._connected(peer_id):
            self.admitted.pop(peer_id, None)  # per connection: the next one exchanges again
            arrived = self._stop_waiting(peer_id)  # gone before presenting: its place is free
            if arrived is not None:
                arrived.set()


class _GateNotifee(INotifee):
    def __init__(self, gate: AdmissionGate):
        self.gate = gate

    async def opened_stream(self, network, stream) -> None:
        await trio.lowlevel.checkpoint()

    async def closed_stream(self, network, stream) -> None:
        await trio.lowlevel.checkpoint()

    async def connected(self, network, conn) -> None:
        self.gate.connected(conn.muxed_conn.peer_id.to_base58(), _remote_host(conn))
        await trio.lowlevel.checkpoint()

    async def disconnected(self, network, conn) -> None:
        self.gate.disconnected(conn.muxed_conn.peer_id.to_base58())
        await trio.lowlevel.checkpoint()

    async def listen(self, network, multiaddr) -> None:
        await trio.lowlevel.checkpoint()

    async def listen_close(self, network, multiaddr) -> None:
        await trio.lowlevel.checkpoint()


def _remote_host(conn) -> str:
    """The remote IP of a connection ("?" when the transport does not say)."""
    try:
        remote = conn.muxed_conn.get_remote_address()
    except Exception:  # noqa: BLE001 — a wrapper without it: one shared bucket
        return "?"
    return str(remote[0]) if remote else "?"
