"""Live streams (Server-Sent Events): who may open one, how many, and for how long.

Bounds, so one client cannot hold what others need:
- per account and per client address, across every replica: leases in the shared state, renewed
  every heartbeat and expiring by themselves when a replica dies (`LIVE_PER_ACCOUNT`,
  `LIVE_PER_CLIENT`);
- per replica: `LIVE_TOTAL` streams at once (the live pool of serving.py has as many threads, so
  streams never take a thread that health, sign-in or reads need);
- in time: a stream ends after `SSE_IDLE_S` without an event, after `SSE_MAX_DURATION_S`, when its
  session expires or is signed out, or when its reader is no longer allowed (re-checked every
  heartbeat); the client reconnects with Last-Event-ID and loses nothing.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from services.gateway.disconnect import ClientGone
from services.gateway.errors import Busy, TooManyRequests
from services.gateway.live_feed import Doorbell, LiveFeed
from services.gateway.observability import Metrics, log
from services.gateway.sessions import Session, SessionSigner
from services.gateway.settings import GatewaySettings
from services.gateway.shared_state import SharedState

PAGE = 100  # changes read per store query
RETRY_MS = 2000  # what the client's EventSource waits before reconnecting


class LiveStreams:
    def __init__(self, settings: GatewaySettings, state: SharedState, store: Any,
                 sessions: SessionSigner, metrics: Metrics):
        self.feed = LiveFeed(store)
        self.settings, self.state, self.store = settings, state, store
        self.sessions, self._metrics = sessions, metrics
        self._slots = threading.BoundedSemaphore(settings.live_total)
        self._count_lock = threading.Lock()
        self._open = 0
        self.lease_ttl_s = 3 * settings.sse_heartbeat_s + 1

    def open(self, *, owner: str, session: Session, client: str, cursor: str | None,
             still_allowed: Callable[[], bool], client_gone: ClientGone | None,
             reset: bool = False) -> LiveStream:
        """Admit a stream or refuse it: 429 over an account's or a client's bound, 503 when this
        replica is full. The stream owns its places until it is closed. `reset`: the client's
        cursor had expired; the stream starts with a `reset` event (reload, then follow)."""
        if not self._slots.acquire(blocking=False):
            self._metrics.refusals.labels("live_replica_full").inc()
            raise Busy("this gateway serves as many live streams as it can: retry shortly",
                       retry_after_s=5)
        member = secrets.token_hex(8)
        groups = {f"live:account:{session.address}": self.settings.live_per_account,
                  f"live:client:{client}": self.settings.live_per_client}
        try:
            full = self.state.acquire_lease(member, self.lease_ttl_s, groups)
        except BaseException:
            self._slots.release()
            raise
        if full is not None:
            self._slots.release()
            which = "account" if full.startswith("live:account:") else "client address"
            self._metrics.refusals.labels(f"live_per_{which.split()[0]}").inc()
            raise TooManyRequests(
                f"too many live streams for this {which} (at most {groups[full]} across every "
                "gateway replica): close one first", retry_after_s=int(self.lease_ttl_s))
        self._counted(+1)
        self._metrics.sse_streams.inc()
        return LiveStream(self, owner=owner, session=session, member=member,
                          groups=list(groups), cursor=cursor, still_allowed=still_allowed,
                          client_gone=client_gone, reset=reset)

    def open_count(self) -> int:
        with self._count_lock:
            return self._open

    def close(self) -> None:
        self.feed.close()

    def _counted(self, delta: int) -> None:
        with self._count_lock:
            self._open += delta
        self._metrics.live_open.inc(delta)

    def _release(self, member: str, groups: list[str]) -> None:
        self._slots.release()
        self._counted(-1)
        try:
            self.state.release_lease(member, groups)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log("live_lease_release_failed")


class LiveStream:
    """The response body: an iterable whose close() frees the stream's places even if it was
    never iterated (a client gone before the first byte)."""

    def __init__(self, streams: LiveStreams, *, owner: str, session: Session, member: str,
                 groups: list[str], cursor: str | None, still_allowed: Callable[[], bool],
                 client_gone: ClientGone | None, reset: bool = False):
        self._streams = streams
        self._owner, self._session, self._member, self._groups = owner, session, member, groups
        self._cursor = cursor
        self._reset = reset
        self._still_allowed = still_allowed
        self._bell: Doorbell = streams.feed.subscribe(owner)
        self._gone = client_gone
        if client_gone is not None:
            client_gone.add_waker(self._bell.end)
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[bytes]:
        settings = self._streams.settings
        now = time.monotonic()
        deadline = min(now + settings.sse_max_duration_s,
                       now + (self._session.expires_at - time.time()))
        idle_until = now + settings.sse_idle_s
        next_check = now + settings.sse_heartbeat_s
        yield f"retry: {RETRY_MS}\n\n".encode()
        if self._reset:  # what the client saw may miss trimmed changes: it reloads, then follows
            yield (f"id: {self._cursor or ''}\nevent: reset\n"
                   'data: {"reason": "cursor_expired"}\n\n').encode()
        while not self._closed:
            try:
                batch = self._streams.store.changes_since(self._owner, self._cursor, PAGE)
            except Exception as error:  # noqa: BLE001 - store unreachable: end, client retries
                log("live_read_failed", kind=type(error).__name__)
                return
            for change in batch:
                self._cursor = change.cursor
                data = json.dumps({"kind": change.kind, "record_id": change.record_id,
                                   "at_ms": change.at_ms})
                yield f"id: {change.cursor}\nevent: {change.kind}\ndata: {data}\n\n".encode()
            now = time.monotonic()
            if batch:
                idle_until = now + settings.sse_idle_s
            if len(batch) == PAGE:
                continue
            if self._bell.closed or (self._gone is not None and self._gone.is_set()):
                return
            if now >= deadline or now >= idle_until:
                return  # the client reconnects with Last-Event-ID
            if now >= next_check:
                if not self._keep():
                    return
                next_check = now + settings.sse_heartbeat_s
            if not self._bell.wait(min(next_check, deadline, idle_until) - now):
                yield b": heartbeat\n\n"

    def _keep(self) -> bool:
        """Renew the leases and re-check the reader (signed out? still the patient or their
        doctor?); False ends the stream."""
        try:
            return (self._streams.state.renew_lease(self._member, self._streams.lease_ttl_s,
                                                     self._groups)
                    and not self._streams.sessions.is_revoked(self._session)
                    and self._still_allowed())
        except Exception as error:  # noqa: BLE001 - cannot tell: end, the client reconnects
            log("live_check_failed", kind=type(error).__name__)
            return False

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._bell.leave()
        self._streams._release(self._member, self._groups)
