"""The control plane: who is alive, with which roles, at which address.

Every peer publishes a presence note on a gossipsub topic (gossipsub v1.1, heartbeat 1 s, mesh
degree `gossip_degree`, spam protection off: presence from many peers would trip its 10
msg/s/topic limit), every `presence_interval_s` or less often as the cluster grows, and says in
the note how often; a peer silent for four of its own intervals (at least
`presence_timeout_s`) is gone (presence_pacing.py says why). Notes are taken into a table by the
topic validator, which gossipsub runs once per new message (the subscription's channel holds
only 32 and drops silently when full). We also note our own presence directly, and ignore our
own publishes coming back.

Our reconnect loop dials every known peer we are not connected to (libp2p does not redial by
itself, and its bootstrap module takes ≈60 s), and the bootstrap addresses while we know nobody:
any live peer can be a bootstrap address.

A note counts only from an admitted peer: it carries the sender's credential, checked against
the gossip message's authenticated sender (`from_id`, which strict signing makes the sender
sign), never the note's own fields; the roles taken are those announced that the credential
grants. A topic validator applies the same check, so gossipsub does not forward a stranger's
note either.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import multiaddr
import trio
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from services.peers import presence_pacing
from services.peers.admission.credential import Refused
from services.peers.gossip_router import PresenceGossipRouter
from services.peers.presence_isolation import IsolationWatch
from services.peers.stalled_links import StalledLinks
from services.peers.tcp_link import shut_down, since_last_ack_s, tcp_socket

TOPIC = "pulseledger/presence/1"
log = logging.getLogger(__name__)
# A presence note older than this (by its sender's clock, against ours) is not taken: well inside
# gossipsub's 120-s memory of message ids, so a replay is refused by one or the other. Hosts'
# clocks must agree to within it (NTP). A note without `sent_ms` (a peer from before 2026-12-06)
# is still taken: refusing it would split a rolling upgrade's network.
NOTE_MAX_AGE_MS = 60_000


def make_gossipsub(settings) -> GossipSub:
    return PresenceGossipRouter(
        [PROTOCOL_ID_V11], degree=settings.gossip_degree, degree_low=settings.gossip_degree_low,
        degree_high=settings.gossip_degree_high,
        heartbeat_interval=1, spam_protection_enabled=False,
        eclipse_protection_enabled=False,  # every peer here shares one IP (loopback)
    )


@dataclass
class PeerRecord:
    peer_id: str
    roles: tuple[str, ...]
    addrs: tuple[str, ...]
    last_seen: float = field(default_factory=time.monotonic)
    queue_busy: bool = False  # a master that pulled readings recently: the stream goes on
    silence_s: float | None = None  # how long it may stay silent (None: presence_timeout_s)
    queue_low_ms: int | None = None  # a master's source watermark (queues/base.py)


class Membership:
    def __init__(self, host, pubsub: Pubsub, roles: tuple[str, ...], settings, gate):
        self.host = host
        self.gate = gate
        self.pubsub = pubsub
        self.roles = tuple(roles)
        self.settings = settings
        self.self_id = host.get_id().to_base58()
        self.peers: dict[str, PeerRecord] = {}
        self.changed = trio.Event()  # set (and replaced) whenever the live set changes
        self.version = 0  # bumped whenever the live set changes: caches key on it
        self._queue_busy: Callable[[], bool] = lambda: False  # see report_queue_busy
        self._queue_low: Callable[[], int | None] = lambda: None  # see report_queue_low
        self._low_capped = False  # queue_low_ms is at its floor (logged once when it gets there)
        self._last_live: frozenset[str] = frozenset()
        self._awaited: dict[str, float] = {}  # peers whose turn it is to dial us: since when
        self.interval_s = settings.presence_interval_s  # our current announce interval
        self._heard: dict[str, float] = {}  # peer -> when its last note came (RPCs aside)
        self.isolation = IsolationWatch(self._subscribed_peers, self._mesh_state)
        self.stalled_links = StalledLinks()
        self._busy_noted: set[str] = set()  # silent peers whose links acknowledge (logged once)

    # -- queries ------------------------------------------------------------------------------
    def live(self, role: str | None = None) -> list[str]:
        """Peers heard from recently, and always ourselves: a peer whose event loop was busy
        past the timeout must not conclude that it is itself dead."""
        now, timeout = time.monotonic(), self.settings.presence_timeout_s
        return sorted(p.peer_id for p in self.peers.values()
                      if (now - p.last_seen <= (p.silence_s or timeout)
                          or p.peer_id == self.self_id)
                      and (role is None or role in p.roles))

    def report_queue_busy(self, busy: Callable[[], bool]) -> None:
        """Our presence notes say whether we still pull readings: `busy` (a master's) tells."""
        self._queue_busy = busy

    def report_queue_low(self, low: Callable[[], int | None]) -> None:
        """Our presence notes carry the queue's source watermark: `low` (a master's) tells."""
        self._queue_low = low

    def queue_low_ms(self, now_ms: int | None = None) -> int | None:
        """The oldest send time of a message some live master reports as not yet completed
        (None: every live master reports an empty queue, or none reports). Readings sent after
        it have all been routed: a window that ended more than the grace before it is safe
        to close. Never further back than source_hold_max_s before now (wall clock, as the
        queue's send times are): one stuck message, or a master that reports 0, may delay
        closing by that much, not stop it (settings.py)."""
        # our own master's as it is now, not as our last note said (up to an interval old: a
        # stale watermark holds windows back, then releases them in one large close round)
        lows = [self._queue_low() if p.peer_id == self.self_id else p.queue_low_ms
                for p in self._live_masters()]
        lows = [low for low in lows if low is not None]
        if not lows:
            self._low_capped = False
            return None
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        floor = now_ms - int(self.settings.source_hold_max_s * 1000)
        capped = min(lows) < floor
        if capped and not self._low_capped:
            log.warning("a master reports a queue message pending for over %.0f s: windows are "
                        "no longer held back for it", self.settings.source_hold_max_s)
        self._low_capped = capped
        return max(min(lows), floor)

    def queue_pending(self, now_ms: int | None = None) -> bool:
        """Does a live master report a message not yet completed, sent within
        source_hold_max_s? Then readings are still on their way (in the queue, or locked by a
        master that died until its lock lapses), however quiet the aggregators are."""
        low = self.queue_low_ms(now_ms)
        return low is not None and not self._low_capped

    def any_queue_busy(self) -> bool:
        """Does any live master still pull readings? Then the stream has not stopped."""
        return any(p.queue_busy for p in self._live_masters())

    def _live_masters(self) -> list[PeerRecord]:
        """The latest presence record of every live master (what their notes report)."""
        live = set(self.live("master"))
        return [p for p in self.peers.values() if p.peer_id in live]

    def seen(self, peer_id: str) -> None:
        """A peer we know just called us: it is alive now (e.g. a restarted aggregator that
        syncs with us must stop being treated as dead before its first presence note)."""
        record = self.peers.get(peer_id)
        if record is not None and record.last_seen < time.monotonic():
            record.last_seen = time.monotonic()
            self._check_changed()

    def mark_dead(self, peer_id: str) -> None:
        """An RPC failure is a stronger signal than silence: stop routing there until it speaks."""
        if peer_id != self.self_id and peer_id in self.peers:
            self.peers[peer_id].last_seen = 0.0
            self._check_changed()

    def _note(self, record: PeerRecord) -> None:
        self.peers[record.peer_id] = record
        self._heard[record.peer_id] = record.last_seen
        self._check_changed()

    def cluster_size(self) -> int:
        """Peers heard from lately, live or not, ourselves included (presence_pacing.py)."""
        since = time.monotonic() - presence_pacing.COUNTED_FOR_S
        return sum(heard >= since for heard in self._heard.values())

    def _check_changed(self) -> None:
        live = frozenset(self.live())
        if live != self._last_live:
            self._last_live = live
            self.version += 1
            self.changed.set()
            self.changed = trio.Event()

    def _own_addrs(self) -> tuple[str, ...]:
        return tuple(str(a) for a in self.host.get_addrs())

    # -- loops ----------------------------------------------------------------------------------
    def _admitted_note(self, message: rpc_pb2.Message) -> PeerRecord | None:
        """The note as a record, if its authenticated sender is admitted; None otherwise."""
        try:
            sender = ID(message.from_id).to_base58()
            note = json.loads(message.data)
            credential = self.gate.check_presented(note.get("credential"), sender)
            sent = note.get("sent_ms")
            if sent is not None and not (type(sent) is int
                                         and abs(time.time() * 1000 - sent) <= NOTE_MAX_AGE_MS):
                # gossipsub forgets a message's id after 120 s: an old note of a peer since
                # dead, replayed by any admitted peer, would have made it look alive again
                log.info("presence note refused: sender=%s reason=stale", sender[-8:])
                return None
            roles = tuple(r for r in note["roles"] if r in credential.roles)
            silence = presence_pacing.allowed_silence(note.get("interval_s"),
                                                      self.settings.presence_timeout_s)
            low = note.get("queue_low_ms")
            return PeerRecord(sender, roles, tuple(map(str, note["addrs"])),
                              queue_busy=bool(note.get("queue_busy")), silence_s=silence,
                              queue_low_ms=low if type(low) is int and low >= 0 else None)
        except Refused as exc:
            log.info("presence note refused: sender=%s reason=%s",
                     ID(message.from_id).to_base58()[-8:], exc.reason)
            return None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # a malformed note: ignore, presence is best effort

    def _validate(self, forwarder, message: rpc_pb2.Message) -> bool:
        """Gossipsub calls this once per new message, before it forwards it: the note is taken
        here. The subscription's 32-deep channel drops silently when the event loop falls
        behind (a busy aggregator then lost most notes, saw its replica as dead and left that
        user's windows unclosed), so nothing is read from it."""
        record = self._admitted_note(message)
        if record is None:
            return False
        if record.peer_id != self.self_id:  # our own publishes pass through here too
            self._note(record)
            self.isolation.heard()
        return True

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self.pubsub.set_topic_validator(TOPIC, self._validate, is_async_validator=False)
        self.pubsub.validator_only.add(TOPIC)  # notes are taken by the validator, nowhere else
        await self.pubsub.subscribe(TOPIC)  # joins the topic's mesh
        self._note(PeerRecord(self.self_id, self.roles, self._own_addrs()))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._announce)
            nursery.start_soon(self._reconnect)
            nursery.start_soon(self._watch_isolation)
            task_status.started()

    async def _announce(self) -> None:
        previous = None
        while True:
            self.interval_s = previous = presence_pacing.next_interval(
                self.cluster_size(), self.settings.presence_interval_s,
                self.settings.presence_budget_per_s, previous)
            busy, low = self._queue_busy(), self._queue_low()
            self._note(PeerRecord(self.self_id, self.roles, self._own_addrs(), queue_busy=busy,
                                  queue_low_ms=low))
            note = {"peer_id": self.self_id, "roles": list(self.roles),
                    "sent_ms": int(time.time() * 1000),
                    "addrs": list(self._own_addrs()), "queue_busy": busy, "queue_low_ms": low,
                    "interval_s": self.interval_s, "credential": self.gate.own_document}
            try:
                await self.pubsub.publish(TOPIC, json.dumps(note).encode())
            except Exception as exc:  # noqa: BLE001
                log.debug("presence publish failed: %s", type(exc).__name__)
            await trio.sleep(self.interval_s)

    async def _watch_isolation(self) -> None:
        while True:
            await trio.sleep(self.settings.presence_timeout_s)
            self.isolation.check(presence_pacing.allowed_silence(
                self.interval_s, self.settings.presence_timeout_s))

    def _subscribed_peers(self) -> int:
        return len(self.pubsub.peer_topics.get(TOPIC, ()))

    def _mesh_state(self) -> str:
        router, now = self.pubsub.router, time.time()
        backed_off = sum(until > now for until in getattr(router, "back_off", {})
                         .get(TOPIC, {}).values())
        return f"mesh {len(getattr(router, 'mesh', {}).get(TOPIC, ()))}, {backed_off} backed off"

    async def _reconnect(self) -> None:
        while True:
            self._check_changed()
            connected = {p.to_base58() for p in self.host.get_connected_peers()}
            now = time.monotonic()
            stalled = self.stalled_links.stalled(connected, self._heard, self._allowed_silence,
                                                 now)
            for peer_id in stalled:
                if self._link_acknowledges(peer_id):  # a busy peer, not a cut: closing would
                    self._note_busy(peer_id, now)     # only break the RPCs under way
                    continue
                await self._close_stalled(peer_id, now)
                connected.discard(peer_id)
            self._busy_noted &= set(stalled)
            targets: list[PeerInfo] = []
            for record in list(self.peers.values()):
                if record.peer_id == self.self_id or record.peer_id in connected:
                    self._awaited.pop(record.peer_id, None)
                    continue
                if not self._our_turn_to_dial(record.peer_id, now):
                    continue
                addrs = [multiaddr.Multiaddr(a) for a in record.addrs]
                if addrs:
                    targets.append(PeerInfo(ID.from_base58(record.peer_id), addrs))
            if len(connected) == 0:
                for address in self.settings.bootstrap:
                    info = info_from_p2p_addr(multiaddr.Multiaddr(address))
                    if info.peer_id.to_base58() != self.self_id:
                        targets.append(info)
            async with trio.open_nursery() as nursery:
                for info in targets:
                    nursery.start_soon(self._dial, info)
            await trio.sleep(self.settings.reconnect_interval_s)

    def _allowed_silence(self, peer_id: str) -> float:
        record = self.peers.get(peer_id)
        return (record.silence_s if record else None) or self.settings.presence_timeout_s

    def _link_acknowledges(self, peer_id: str) -> bool:
        """Did the peer's kernel acknowledge something on a connection to it within one of its
        allowed silences (tcp_link.py)? Unknown counts as no: silence alone then decides."""
        within = self._allowed_silence(peer_id)
        return any((since := since_last_ack_s(tcp_socket(c))) is not None and since <= within
                   for c in self.host.get_network().get_connections(ID.from_base58(peer_id)))

    def _note_busy(self, peer_id: str, now: float) -> None:
        if peer_id not in self._busy_noted:  # once while it stays silent
            self._busy_noted.add(peer_id)
            log.info("no note from %s for %.0f s, but its link acknowledges: left connected",
                     peer_id[-8:], now - self._heard.get(peer_id, now))

    async def _close_stalled(self, peer_id: str, now: float) -> None:
        """Close a connection nothing has crossed for long (stalled_links.py); the loop dials
        the peer afresh. Its TCP link is shut down first: the goodbye a close writes would
        wait on a cut link's full send buffer (tcp_link.shut_down). Bounded all the same."""
        log.info("closing the connection to %s: no note for %.0f s, dialling it afresh",
                 peer_id[-8:], now - self._heard.get(peer_id, now))
        for connection in self.host.get_network().get_connections(ID.from_base58(peer_id)):
            shut_down(connection)
        with trio.move_on_after(max(2.0, self.settings.reconnect_interval_s * 3)):
            try:
                await self.host.disconnect(ID.from_base58(peer_id))
            except Exception as exc:  # noqa: BLE001
                log.debug("closing %s failed: %s", peer_id[-8:], type(exc).__name__)
        self.stalled_links.forget(peer_id)

    def metrics(self) -> dict:
        return {**self.isolation.metrics(),
                "stalled_links_closed_total": self.stalled_links.closed}

    def _our_turn_to_dial(self, peer_id: str, now: float) -> bool:
        """Of two peers that learn of each other, the one with the smaller id dials: when both
        dialled at once they ended up with two connections, and streams opened on the one the
        other side gave up timed out (RPCs failed between live, admitted peers). The other
        dials too only if no connection came for a few rounds (that peer may not know us)."""
        if self.self_id < peer_id:
            return True
        since = self._awaited.setdefault(peer_id, now)
        return now - since >= 5 * self.settings.reconnect_interval_s

    async def _dial(self, info: PeerInfo) -> None:
        with trio.move_on_after(max(2.0, self.settings.reconnect_interval_s * 3)):
            try:
                await self.host.connect(info)
            except Exception as exc:  # noqa: BLE001
                log.debug("dial %s failed: %s", info.peer_id.to_base58()[-8:], type(exc).__name__)
