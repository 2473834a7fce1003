"""Acknowledged request/response over libp2p streams: the data plane.

Frames are a 4-byte big-endian length and a JSON body. A request is {"op", "body"}; the reply is
{"ok": true, "body"} or {"ok": false, "error": <code>}, one of a fixed set of codes (ERRORS) and
never our exception text. Bodies are the typed messages of services/peers/messages: a request is
checked against its operation's class before the handler sees it (`invalid` otherwise), a reply
before the caller does; a call to ourselves passes the objects as they are. Only peers the admission gate admitted reach us at all, and each op is
run only for a caller whose credential grants a role allowed to call it (admission/authorization.py).
The reply is the acknowledgement: the callee sends
it only after it has done (durably) what the op asks, so a caller that gets no reply retries, and
every op is idempotent. One long-lived stream per remote peer (≈1–2k round trips/s on py-libp2p,
versus ≈250 ms for a new connection), serialised by a lock; callers batch to go faster. A call to
our own peer id skips the network (several roles in one process).
"""

from __future__ import annotations

import json
import logging
import struct
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from libp2p.peer.id import ID

from services.peers.admission.authorization import may_call, request_frame_limit
from services.peers.messages import OPERATIONS, InvalidMessage

# The version is the messages' (services/peers/messages): 2 is the typed, checked set; 3 adds
# replication receipts and per-reading rejections to agg.ingest and agg.merge.
PROTOCOL = "/pulseledger/rpc/3.0.0"
MAX_FRAME = 256 * 1024 * 1024
# Request streams one caller may have open on us at once. A caller keeps one stream a peer and
# one call on it at a time (Rpc._remote); after a timeout it resets that stream and opens another
# while our handler may still be running the first call, so a few overlap. Many is a hostile
# peer multiplying what it makes us hold (each frame is read whole before it is handled).
MAX_STREAMS_PER_CALLER = 4
log = logging.getLogger(__name__)

Handler = Callable[[Any, str], Awaitable[Any]]  # (typed request, caller) -> typed reply

# What a remote caller may learn of a failure: which of these, nothing more.
UNKNOWN_OP, FORBIDDEN, INVALID, FAILED = "unknown_op", "forbidden", "invalid", "failed"
ERRORS = (UNKNOWN_OP, FORBIDDEN, INVALID, FAILED)


class PeerUnavailable(Exception):
    """The peer did not acknowledge: it may be dead, slow, or rebooting. Retry elsewhere or later."""


class RemoteError(Exception):
    """The peer answered with an error: the op was not done. `code` is one of ERRORS."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code if code in ERRORS else FAILED


async def _read_exactly(stream, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = await stream.read(remaining)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


async def read_frame(stream, max_size: int = MAX_FRAME) -> dict:
    (size,) = struct.unpack(">I", await _read_exactly(stream, 4))
    if size > max_size:
        raise ValueError("frame too large")
    return json.loads(await _read_exactly(stream, size))


async def reset_quietly(stream) -> None:
    """Close a stream whatever state it is in (shielded: also while we are being cancelled)."""
    with trio.CancelScope(shield=True):
        try:
            await stream.reset()
        except Exception:  # noqa: BLE001, S110
            pass


async def write_frame(stream, value: dict) -> None:
    data = json.dumps(value, separators=(",", ":")).encode()
    await stream.write(struct.pack(">I", len(data)) + data)


class Rpc:
    def __init__(self, host, timeout_s: float, gate):
        self.host = host
        self.timeout_s = timeout_s
        self.gate = gate
        self.forbidden: Counter[str] = Counter()  # refused calls, by op
        self.invalid: Counter[str] = Counter()  # malformed requests, by op
        self.duplicates_closed = 0  # peers whose several connections we closed (_unwedge)
        self.streams_refused: Counter[str] = Counter()  # closed unread, by why
        self._serving: Counter[str] = Counter()  # request streams open, by caller
        self._refusals_logged: set[tuple[str, str]] = set()
        self.self_id = host.get_id().to_base58()
        self.handlers: dict[str, Handler] = {}
        self.on_peer_seen: Callable[[str], None] = lambda peer_id: None
        self._streams: dict[str, object] = {}
        self._locks: dict[str, trio.Lock] = {}
        host.set_stream_handler(PROTOCOL, self._serve)

    def register(self, op: str, handler: Handler) -> None:
        if op not in OPERATIONS:
            raise ValueError(f"{op}: no message types (services/peers/messages)")
        self.handlers[op] = handler

    async def _dispatch(self, op: Any, body: Any, caller: str, *, local: bool = False) -> dict:
        """Run op for caller. From the network `body` is the wire dict, checked into the op's
        request class first; from ourselves (`local`) it already is one, and the reply object
        is returned as it is."""
        handler = self.handlers.get(op) if isinstance(op, str) else None
        if handler is None:
            return {"ok": False, "error": UNKNOWN_OP}
        if not may_call(op, self.gate.roles_of(caller)):
            self.forbidden[op] += 1
            log.warning("rpc op %s refused: peer=%s lacks the role", op, caller[-8:])
            return {"ok": False, "error": FORBIDDEN}
        if not local:
            try:
                body = OPERATIONS[op][0].from_wire(body if isinstance(body, dict) else {})
            except InvalidMessage as exc:
                self.invalid[op] += 1
                log.warning("rpc op %s refused: malformed request from peer=%s (%s)", op,
                            caller[-8:], exc)
                return {"ok": False, "error": INVALID}
        try:
            reply = await handler(body, caller)
        except Exception as exc:  # the caller retries; it learns only that the op failed  # noqa: BLE001
            log.warning("rpc op %s failed: %s", op, type(exc).__name__)
            return {"ok": False, "error": FAILED}
        return {"ok": True, "body": reply if local else reply.to_wire()}

    def metrics(self) -> dict:
        out = {f'rpc_forbidden_total{{op="{op}"}}': n for op, n in self.forbidden.items()}
        out.update({f'rpc_invalid_total{{op="{op}"}}': n for op, n in self.invalid.items()})
        out["rpc_duplicate_connections_closed_total"] = self.duplicates_closed
        out.update({f'rpc_streams_refused_total{{reason="{why}"}}': n
                    for why, n in self.streams_refused.items()})
        return out

    async def _serve(self, stream) -> None:
        caller = stream.muxed_conn.peer_id.to_base58()
        limit = request_frame_limit(self.gate.roles_of(caller))
        why = ("no_operation_for_its_roles" if limit == 0 else
               "too_many_streams" if self._serving[caller] >= MAX_STREAMS_PER_CALLER else None)
        if why is not None:  # closed before a byte of it is read
            self.streams_refused[why] += 1
            if (caller, why) not in self._refusals_logged:  # once: a flood of streams is counted
                self._refusals_logged.add((caller, why))  # admitted callers only: a few keys
                log.warning("rpc streams from peer=%s closed unread: %s", caller[-8:], why)
            await reset_quietly(stream)
            return
        self._serving[caller] += 1
        try:
            while True:
                request = await read_frame(stream, limit)
                if not isinstance(request, dict):
                    break
                self.on_peer_seen(caller)  # a request is proof of life, sooner than presence
                await write_frame(stream, await self._dispatch(request.get("op"),
                                                               request.get("body"), caller))
        except Exception:  # noqa: BLE001, S110
            pass  # the caller hung up or died; it will retry on a new stream
        finally:
            self._serving[caller] -= 1
            if not self._serving[caller]:
                del self._serving[caller]
            await reset_quietly(stream)

    async def call(self, peer_id: str, op: str, request: Any) -> Any:
        """Run op on peer_id with a request of its class (services/peers/messages); the reply
        object. A reply that does not have its class's shape is an error: the op counts as
        not done."""
        if peer_id == self.self_id:
            await trio.lowlevel.checkpoint()  # a local call must still let other tasks run
            reply = await self._dispatch(op, request, self.self_id, local=True)
        else:
            reply = await self._remote(peer_id, {"op": op, "body": request.to_wire()})
        if not isinstance(reply, dict) or not reply.get("ok"):
            raise RemoteError(str(reply.get("error") if isinstance(reply, dict) else FAILED))
        if peer_id == self.self_id:
            return reply["body"]
        try:
            return OPERATIONS[op][1].from_wire(reply.get("body") or {})
        except InvalidMessage as exc:
            log.warning("rpc op %s: malformed reply from peer=%s (%s)", op, peer_id[-8:], exc)
            raise RemoteError(INVALID) from None

    async def _remote(self, peer_id: str, request: dict) -> dict:
        admitted = None
        with trio.move_on_after(self.timeout_s):
            admitted = await self.gate.admit(peer_id)  # both ways: we check who answers, too
        if not admitted:
            raise PeerUnavailable(f"{peer_id[-8:]}: not admitted")
        lock = self._locks.setdefault(peer_id, trio.Lock())
        async with lock:
            stream = None
            try:
                with trio.fail_after(self.timeout_s):
                    stream = self._streams.get(peer_id)
                    if stream is None:
                        stream = await self.host.new_stream(ID.from_base58(peer_id), [PROTOCOL])
                        self._streams[peer_id] = stream
                    await write_frame(stream, request)
                    return await read_frame(stream)
            except (Exception, trio.TooSlowError) as exc:  # noqa: BLE001
                self._streams.pop(peer_id, None)
                if stream is not None:
                    await reset_quietly(stream)
                else:
                    await self._unwedge(peer_id)
                raise PeerUnavailable(f"{peer_id[-8:]}: {type(exc).__name__}") from None

    async def _unwedge(self, peer_id: str) -> None:
        """No new stream could be opened to the peer. When both ends dialled at once there are
        two connections, and py-libp2p can keep picking one the other end no longer serves:
        in the chaos kill matrix every call between two aggregators (or a master and one) then
        timed out for minutes while their gossip, on the other connection, flowed. Closing
        them all lets the reconnect loop make one that works. A single connection is left
        alone: a slow peer is not a broken link."""
        peer = ID.from_base58(peer_id)
        network = self.host.get_network()
        count = len(network.get_connections(peer))
        if count < 2:
            return
        self.duplicates_closed += 1
        log.warning("closing %d connections to peer=%s: no new stream opened on them", count,
                    peer_id[-8:])
        with trio.move_on_after(self.timeout_s) as scope:
            scope.shield = True
            try:
                await network.close_peer(peer)
            except Exception as exc:  # noqa: BLE001
                log.debug("closing %s failed: %s", peer_id[-8:], type(exc).__name__)

    def forget(self, peer_id: str) -> None:
        self._streams.pop(peer_id, None)
