"""The configured upstreams: failover in order of preference, health probes, the chain head.

Only URLs from settings are ever dialled; nothing from the client's request reaches this module
but the body. Redirects are not followed. Errors are logged by upstream name and exception class,
never by message: HTTP client messages may carry the URL, and provider URLs carry API keys."""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass

from . import metrics
from .auth_header import HeaderAuth
from .auth_none import NoAuth
from .auth_sigv4 import SigV4SigningAuth
from .base import UpstreamAuth
from .connections import (
    ConnectFailed,
    ConnectionLost,
    KeepAliveConnections,
    ReadTimedOut,
    ResponseTooLarge,
    StaleConnection,
)
from .settings import ProxySettings, UpstreamSettings

log = logging.getLogger("pulseledger.proxy")

# Worth trying the next upstream: the provider is overloaded or broken, not the request.
_RETRY_ELSEWHERE = {401, 403, 408, 429, 500, 502, 503, 504}


class UpstreamTimeout(Exception):
    pass


class UpstreamUnavailable(Exception):
    pass


@dataclass
class Reply:
    status: int
    body: bytes
    upstream: str


class Upstream:
    def __init__(self, name: str, config: UpstreamSettings):
        self.name = name
        self.url = config.url.get_secret_value()
        self.auth: UpstreamAuth = auth_for(config)
        self.healthy = True  # optimistic until the first probe says otherwise
        self.chain_ok: bool | None = None
        self.head: int | None = None

    def __repr__(self) -> str:
        return f"Upstream({self.name})"


def auth_for(config: UpstreamSettings) -> UpstreamAuth:
    if config.auth == "sigv4":
        return SigV4SigningAuth(config.aws_region, config.aws_service)
    if config.auth == "header":
        return HeaderAuth(config.headers)
    return NoAuth()


class _Failed(Exception):
    def __init__(self, outcome: str, timed_out: bool = False):
        self.outcome = outcome
        self.timed_out = timed_out


class UpstreamPool:
    def __init__(self, settings: ProxySettings, chain_id: int):
        self._settings = settings
        self._chain_id = chain_id
        names = settings.upstream_names()
        self.upstreams = [Upstream(n, c) for n, c in zip(names, settings.upstreams, strict=True)]
        self._pid: int | None = None
        self._http: KeepAliveConnections | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._head: tuple[int | None, float] = (None, 0.0)

    # -- per-process state: created after gunicorn forks, never shared across processes
    def _client(self) -> KeepAliveConnections:
        if self._pid != os.getpid():
            with self._start_lock:
                if self._pid != os.getpid():
                    self._http = KeepAliveConnections(
                        self._settings.connect_timeout_seconds, self._settings.max_response_bytes
                    )
                    self._stop = threading.Event()
                    threading.Thread(
                        target=self._probe_forever, name="upstream-health", daemon=True
                    ).start()
                    self._pid = os.getpid()
        return self._http

    # -- forwarding
    def forward(self, body: bytes, deadline: float) -> Reply:
        """POST body to the first upstream that answers; raises UpstreamTimeout when the deadline
        passes, UpstreamUnavailable when every upstream failed."""
        http = self._client()
        candidates = [u for u in self.upstreams if u.chain_ok is not False]
        candidates.sort(key=lambda u: not u.healthy)  # stable: healthy first, in configured order
        timed_out = False
        for upstream in candidates:
            if time.monotonic() >= deadline:
                timed_out = True
                break
            try:
                reply = self._attempt(http, upstream, body, deadline)
            except _Failed as failure:
                metrics.UPSTREAM_ATTEMPTS.labels(upstream.name, failure.outcome).inc()
                log.warning(
                    "upstream attempt failed",
                    extra={"upstream": upstream.name, "outcome": failure.outcome},
                )
                self._mark(upstream, healthy=False)
                timed_out = timed_out or failure.timed_out
                continue
            metrics.UPSTREAM_ATTEMPTS.labels(upstream.name, "ok").inc()
            return reply
        if timed_out:
            raise UpstreamTimeout()
        raise UpstreamUnavailable()

    def _attempt(self, http, upstream: Upstream, body: bytes, deadline: float) -> Reply:
        for fresh_connection_retry in (False, True):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Failed("timeout", timed_out=True)
            try:
                status, data = self._post(http, upstream, body, remaining)
            except StaleConnection:
                # A keep-alive connection the upstream closed while idle: once more, on a new one.
                if fresh_connection_retry:
                    raise _Failed("connection_lost") from None
                continue
            if time.monotonic() > deadline:
                raise _Failed("timeout", timed_out=True)
            if status in _RETRY_ELSEWHERE or 300 <= status < 400:
                raise _Failed(f"http_{status}")
            return Reply(status, data, upstream.name)
        raise AssertionError("unreachable")

    def _post(self, http, upstream: Upstream, body: bytes, remaining: float) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        try:
            headers.update(upstream.auth.headers(upstream.url, body))
        except Exception as exc:  # noqa: BLE001 -- no credentials, or a broken credential source
            log.error(
                "upstream signing failed",
                extra={"upstream": upstream.name, "error": type(exc).__name__},
            )
            raise _Failed("signing_failed") from None
        try:
            return http.post(upstream.url, body, headers, remaining)
        except ConnectFailed:
            raise _Failed("connect_failed") from None
        except ReadTimedOut:
            raise _Failed("timeout", timed_out=True) from None
        except ConnectionLost:
            raise _Failed("connection_lost") from None
        except ResponseTooLarge:
            raise _Failed("response_too_large") from None

    # -- health
    def _mark(self, upstream: Upstream, healthy: bool) -> None:
        if upstream.healthy != healthy:
            log.info(
                "upstream health changed", extra={"upstream": upstream.name, "healthy": healthy}
            )
        upstream.healthy = healthy
        metrics.UPSTREAM_HEALTHY.labels(upstream.name).set(1 if healthy else 0)

    def _probe_forever(self) -> None:
        while not self._stop.is_set():
            for upstream in self.upstreams:
                self._probe(upstream)
            self._stop.wait(self._settings.health_interval_seconds)

    def _probe(self, upstream: Upstream) -> None:
        try:
            if upstream.chain_ok is None:
                chain_id = self._call(upstream, "eth_chainId")
                upstream.chain_ok = chain_id == self._chain_id
                if not upstream.chain_ok:
                    log.error(
                        "upstream serves another chain; never used",
                        extra={"upstream": upstream.name},
                    )
            upstream.head = self._call(upstream, "eth_blockNumber")
            if upstream is self.upstreams[0] or not self.upstreams[0].healthy:
                self.observe_head(upstream.head)
            self._mark(upstream, healthy=bool(upstream.chain_ok))
        except (_Failed, ValueError, KeyError, TypeError):
            self._mark(upstream, healthy=False)

    def _call(self, upstream: Upstream, method: str) -> int:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
        deadline = time.monotonic() + self._settings.health_timeout_seconds
        reply = self._attempt(self._client(), upstream, body, deadline)
        return int(json.loads(reply.body)["result"], 16)

    def observe_head(self, head: int) -> None:
        """A chain head just seen (health probe or a forwarded eth_blockNumber answer)."""
        self._head = (head, time.monotonic())

    def head_block(self) -> int:
        """The latest block number, at most `head_cache_seconds` old; asked upstream otherwise."""
        head, seen_at = self._head
        if head is not None and time.monotonic() - seen_at <= self._settings.head_cache_seconds:
            return head
        body = b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'
        reply = self.forward(body, time.monotonic() + self._settings.upstream_timeout_seconds)
        try:
            head = int(json.loads(reply.body)["result"], 16)
        except (ValueError, KeyError, TypeError):  # an error object, or not JSON-RPC at all
            raise UpstreamUnavailable() from None
        self.observe_head(head)
        return head

    def status(self) -> list[dict]:
        self._client()
        return [
            {"name": u.name, "healthy": u.healthy and u.chain_ok is not False, "head": u.head}
            for u in self.upstreams
        ]
