"""The configured upstreams: chain verification, failover in order of preference, health probes,
the chain head.

An upstream is used only while its chain id is verified (board.py): before its first use (a
request finding it unchecked checks it first, one check at a time per worker, other requests
waiting for that check) and again at every health probe, by whichever worker's probe thread
claims it. An `eth_chainId` answer for another chain, in a probe or in a client's call, takes it
out for every worker at once. Answers pass through replies.py before a client sees them.

Only URLs from settings are ever dialled; nothing from the client's request reaches this module
but the checked body. Redirects are not followed. Errors are logged by upstream name and
outcome, never by message: HTTP client messages may carry the URL, and provider URLs carry API
keys."""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import metrics
from .auth_header import HeaderAuth
from .auth_none import NoAuth
from .auth_sigv4 import SigV4SigningAuth
from .base import UpstreamAuth
from .board import CHAIN_STATE_NAMES, MISMATCH, UpstreamBoard
from .connections import (
    ConnectFailed,
    ConnectionLost,
    KeepAliveConnections,
    ReadTimedOut,
    ResponseTooLarge,
    StaleConnection,
)
from .params import quantity_value
from .replies import BadReply, Checked, Sent, WrongChain, check_reply, secret_tokens
from .settings import ProxySettings, UpstreamSettings

log = logging.getLogger("pulseledger.proxy")

# HTTP statuses that say the upstream (not this request) is in trouble: it is marked unhealthy.
# Any other non-200 answer is a failed attempt too (its body is never passed on), but may be
# about the request alone.
_UPSTREAM_AT_FAULT = {401, 403, 408, 429}
_CHECK_ID = "pulseledger-proxy-check"  # the id of the proxy's own calls (probes, head lookups)
_LARGE_REPLY_BYTES = 1 << 20
_LARGE_REPLIES_AT_ONCE = 2  # per worker


class UpstreamTimeout(Exception):
    pass


class UpstreamUnavailable(Exception):
    pass


@dataclass
class Reply:
    body: bytes
    upstream: str
    head: int | None = None


def auth_for(config: UpstreamSettings) -> UpstreamAuth:
    if config.auth == "sigv4":
        return SigV4SigningAuth(config.aws_region, config.aws_service)
    if config.auth == "header":
        return HeaderAuth(config.headers)
    return NoAuth()


def url_secrets(url: str) -> tuple[str, ...]:
    """Path segments and query values long enough to be API keys (`/v3/<key>`, `?apikey=<key>`):
    a reply quoting them is not passed on."""
    parts = urlsplit(url)
    pieces = parts.path.split("/") + [
        value for pair in parts.query.split("&") for value in pair.split("=")
    ]
    return tuple(p for p in pieces if len(p) >= 16)


class Upstream:
    def __init__(self, index: int, name: str, config: UpstreamSettings):
        self.index = index
        self.name = name
        self.url = config.url.get_secret_value()
        self.auth: UpstreamAuth = auth_for(config)
        self._url_secrets = url_secrets(self.url)

    def secrets(self, auth_headers: dict[str, str]) -> tuple[bytes, ...]:
        return secret_tokens(*self.auth.secrets(auth_headers), *self._url_secrets)

    def __repr__(self) -> str:
        return f"Upstream({self.name})"


class _Failed(Exception):
    def __init__(self, outcome: str, timed_out: bool = False, at_fault: bool = True):
        self.outcome = outcome
        self.timed_out = timed_out
        self.at_fault = at_fault  # the upstream is marked unhealthy


def _fault_of(outcome: str) -> bool:
    if not outcome.startswith("http_"):
        return True  # not JSON-RPC, wrong ids, a credential quoted back
    status = int(outcome[5:])
    return status in _UPSTREAM_AT_FAULT or status >= 500 or 300 <= status < 400


def _tier(state) -> int:
    """Order of preference: verified and healthy; never checked or lapsed but healthy (checked
    first); verified but recently failing; the rest. Mismatched upstreams are never candidates."""
    if state.serving:
        return 0
    if state.healthy:
        return 1
    return 2 if state.verified else 3


class UpstreamPool:
    def __init__(self, settings: ProxySettings, chain_id: int):
        self._settings = settings
        self._chain_id = chain_id
        names = settings.upstream_names()
        self.upstreams = [
            Upstream(i, name, config)
            for i, (name, config) in enumerate(zip(names, settings.upstreams, strict=True))
        ]
        self.board = UpstreamBoard(len(self.upstreams), chain_id)
        self._pid: int | None = None
        self._http: KeepAliveConnections | None = None
        self._verify_locks: list[threading.Lock] = []
        self._large_replies = threading.BoundedSemaphore(_LARGE_REPLIES_AT_ONCE)
        self._start_lock = threading.Lock()
        self._stop = threading.Event()

    # -- per-process state: created in each gunicorn worker, never shared across a fork
    def start(self) -> None:
        """Connections, check locks and one probe thread per upstream, in this process. Called by
        gunicorn as each worker starts (so checks begin before the first request) and lazily."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._http = KeepAliveConnections(
                self._settings.connect_timeout_seconds, self._settings.max_response_bytes
            )
            self._verify_locks = [threading.Lock() for _ in self.upstreams]
            self._large_replies = threading.BoundedSemaphore(_LARGE_REPLIES_AT_ONCE)
            self._stop = threading.Event()
            for upstream in self.upstreams:
                threading.Thread(
                    target=self._probe_forever,
                    args=(upstream,),
                    name=f"probe-{upstream.name}",
                    daemon=True,
                ).start()
            self._pid = os.getpid()

    def _client(self) -> KeepAliveConnections:
        self.start()
        return self._http

    # -- forwarding
    def forward(self, body: bytes, sent: Sent, deadline: float) -> Reply:
        """POST body to the first verified upstream that answers well; raises UpstreamTimeout
        when the deadline passes, UpstreamUnavailable when no upstream could serve."""
        http = self._client()
        states = self.board.snapshot()
        order = sorted(
            (u for u in self.upstreams if states[u.index].chain != MISMATCH),
            key=lambda u: _tier(states[u.index]),
        )
        timed_out = False
        for attempt, upstream in enumerate(order):
            if time.monotonic() >= deadline:
                timed_out = True
                break
            # After a failed attempt time has passed: read the board again. _verify_first reads
            # it under its lock too (a check may have just decided).
            state = states[upstream.index] if attempt == 0 else self.board.get(upstream.index)
            if not state.verified and not self._verify_first(upstream, deadline):
                continue
            try:
                checked = self._attempt(http, upstream, body, sent, deadline)
            except _Failed as failure:
                self._failed(upstream, failure)
                timed_out = timed_out or failure.timed_out
                continue
            metrics.UPSTREAM_ATTEMPTS.labels(upstream.name, "ok").inc()
            if checked.head is not None:
                self._observe_head(upstream, checked.head, state)
            return Reply(checked.body, upstream.name, checked.head)
        if timed_out or time.monotonic() >= deadline:
            raise UpstreamTimeout()
        raise UpstreamUnavailable()

    def _observe_head(self, upstream: Upstream, head: int, state) -> None:
        """A head seen in a client's eth_blockNumber answer. Written to the board when it is new
        or the board's is getting old: clients poll it often, the board is shared and locked."""
        now = time.monotonic()
        fresh_enough = self._settings.head_cache_seconds / 4
        if head != state.head or now - state.head_at > fresh_enough:
            self.board.record_head(upstream.index, head, now)

    def _failed(self, upstream: Upstream, failure: _Failed) -> None:
        metrics.UPSTREAM_ATTEMPTS.labels(upstream.name, failure.outcome).inc()
        log.warning(
            "upstream attempt failed", extra={"upstream": upstream.name, "outcome": failure.outcome}
        )
        if failure.at_fault and self.board.set_healthy(upstream.index, False):
            log.info("upstream health changed", extra={"upstream": upstream.name, "healthy": False})

    def _attempt(
        self, http, upstream: Upstream, body: bytes, sent: Sent, deadline: float
    ) -> Checked:
        started = time.monotonic()
        for fresh_connection_retry in (False, True):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Failed("timeout", timed_out=True)
            try:
                status, data, secrets = self._post(http, upstream, body, remaining)
            except StaleConnection:
                # A keep-alive connection the upstream closed while idle: once more, on a new one.
                if fresh_connection_retry:
                    raise _Failed("connection_lost") from None
                continue
            if time.monotonic() > deadline:
                raise _Failed("timeout", timed_out=True)
            try:
                if len(data) <= _LARGE_REPLY_BYTES:
                    return check_reply(status, data, sent, secrets, self._chain_id)
                # Parsed, a large answer takes a few times its size: a few at a time per worker.
                if not self._large_replies.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    raise _Failed("timeout", timed_out=True)
                try:
                    return check_reply(status, data, sent, secrets, self._chain_id)
                finally:
                    self._large_replies.release()
            except WrongChain as wrong:
                self._chain_seen(upstream, wrong.seen, started, by_probe=False)
                raise _Failed(wrong.outcome, at_fault=False) from None
            except BadReply as bad:
                raise _Failed(bad.outcome, at_fault=_fault_of(bad.outcome)) from None
        raise AssertionError("unreachable")

    def _post(
        self, http, upstream: Upstream, body: bytes, remaining: float
    ) -> tuple[int, bytes, tuple[bytes, ...]]:
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        try:
            auth_headers = upstream.auth.headers(upstream.url, body)
        except Exception as exc:  # noqa: BLE001 -- no credentials, or a broken credential source
            log.error(
                "upstream signing failed",
                extra={"upstream": upstream.name, "error": type(exc).__name__},
            )
            raise _Failed("signing_failed") from None
        headers.update(auth_headers)
        try:
            status, data = http.post(upstream.url, body, headers, remaining)
        except ConnectFailed:
            raise _Failed("connect_failed") from None
        except ReadTimedOut:
            raise _Failed("timeout", timed_out=True) from None
        except ConnectionLost:
            raise _Failed("connection_lost") from None
        except ResponseTooLarge:
            # About the request (a wide eth_getLogs), not the upstream: not marked unhealthy.
            raise _Failed("response_too_large", at_fault=False) from None
        return status, data, upstream.secrets(auth_headers)

    # -- the proxy's own calls (chain id, head, tags)
    def _call(self, upstream: Upstream, method: str, params: list, deadline: float):
        """The result of one call to one upstream; raises _Failed."""
        body = json.dumps(
            {"jsonrpc": "2.0", "id": _CHECK_ID, "method": method, "params": params}
        ).encode()
        checked = self._attempt(self._client(), upstream, body, Sent((_CHECK_ID,), False), deadline)
        answer = json.loads(checked.body)
        if "result" not in answer:
            raise _Failed("error_answer")
        return answer["result"]

    # -- chain verification
    def _chain_seen(self, upstream: Upstream, seen: int | None, started: float, by_probe: bool):
        if seen is None:
            self.board.record_unreachable(upstream.index, started)
            return
        change = self.board.record_chain(upstream.index, seen, started, by_probe)
        if change == "mismatch":
            metrics.CHAIN_MISMATCHES.labels(upstream.name).inc()
            log.error(
                "upstream serves another chain: taken out",
                extra={"upstream": upstream.name, "chain_id": seen},
            )
        elif change == "verified":
            log.info("upstream chain id verified", extra={"upstream": upstream.name})

    def _check_chain(self, upstream: Upstream, deadline: float, by_probe: bool) -> bool:
        """Asks the upstream its chain id and records the answer; True when it is verified."""
        started = time.monotonic()
        try:
            seen = quantity_value(self._call(upstream, "eth_chainId", [], deadline))
        except _Failed as failure:
            metrics.UPSTREAM_ATTEMPTS.labels(upstream.name, failure.outcome).inc()
            seen = None
        self._chain_seen(upstream, seen, started, by_probe)
        return self.board.get(upstream.index).verified

    def _verify_first(self, upstream: Upstream, deadline: float) -> bool:
        """Checks an unverified upstream before a request uses it. One check per upstream at a
        time in this worker: concurrent requests wait for its outcome instead of racing past it,
        and do not each check again (one after another) when it failed."""
        lock = self._verify_locks[upstream.index]
        asked_at = time.monotonic()
        remaining = deadline - asked_at
        if remaining <= 0 or not lock.acquire(timeout=remaining):
            return False
        try:
            state = self.board.get(upstream.index)
            if state.chain == MISMATCH:
                return False
            if state.verified:
                return True
            if state.checked_at >= asked_at:
                return False  # a check decided while this request waited: it failed, move on
            limit = min(deadline, time.monotonic() + self._settings.health_timeout_seconds)
            return self._check_chain(upstream, limit, by_probe=False)
        finally:
            lock.release()

    # -- health
    def _probe_forever(self, upstream: Upstream) -> None:
        interval = self._settings.health_interval_seconds
        while not self._stop.is_set():
            wait = self.board.claim_probe(upstream.index, interval)
            if wait > 0:
                self._stop.wait(wait)
                continue
            try:
                self._probe(upstream)
            except Exception as exc:  # noqa: BLE001 -- the probe thread must outlive any bug
                log.error(
                    "health probe error",
                    extra={"upstream": upstream.name, "error": type(exc).__name__},
                )

    def _probe(self, upstream: Upstream) -> None:
        """Chain id first, then the head: an upstream is healthy only when both answer and the
        chain is ours."""
        was_healthy = self.board.get(upstream.index).serving
        deadline = time.monotonic() + self._settings.health_timeout_seconds
        healthy = False
        if self._check_chain(upstream, deadline, by_probe=True):
            started = time.monotonic()
            try:
                head = quantity_value(self._call(upstream, "eth_blockNumber", [], deadline), 64)
            except _Failed:
                head = None
            if head is not None:
                self.board.record_head(upstream.index, head, started)
                healthy = True
        self.board.set_healthy(upstream.index, healthy)
        if healthy != was_healthy:
            log.info(
                "upstream health changed", extra={"upstream": upstream.name, "healthy": healthy}
            )

    # -- the chain head, for eth_getLogs ranges given as tags
    def block_number(self, tag: str, deadline: float, fresh: bool = False) -> int:
        """The number a head tag stands for now, from a verified upstream only: `latest` and
        `pending` from the preferred serving upstream's head if seen within `head_cache_seconds`
        (else, or when `fresh`, asked), `safe` and `finalized` asked each time."""
        if tag in ("latest", "pending") and not fresh:
            states = self.board.snapshot()
            serving = [s for s in states if s.serving]
            if serving:
                first = serving[0]
                age = time.monotonic() - first.head_at
                if first.head is not None and age <= self._settings.head_cache_seconds:
                    return first.head
        if tag in ("latest", "pending"):
            call = {"jsonrpc": "2.0", "id": _CHECK_ID, "method": "eth_blockNumber", "params": []}
        else:
            call = {
                "jsonrpc": "2.0",
                "id": _CHECK_ID,
                "method": "eth_getBlockByNumber",
                "params": [tag, False],
            }
        reply = self.forward(json.dumps(call).encode(), Sent.of(call), deadline)
        if reply.head is not None:
            return reply.head
        result = json.loads(reply.body).get("result")
        number = quantity_value(result.get("number"), 64) if isinstance(result, dict) else None
        if number is None:  # an error answer, or a node that does not know the tag
            raise UpstreamUnavailable()
        return number

    def status(self) -> list[dict]:
        self.start()
        states = self.board.snapshot()
        return [
            {
                "name": u.name,
                "healthy": states[u.index].serving,
                "chain": CHAIN_STATE_NAMES[states[u.index].chain],
                "head": states[u.index].head,
            }
            for u in self.upstreams
        ]
