"""WebSocket subscriptions through the proxy (`pulseledger proxy-ws`, an asyncio process of its own:
gunicorn's threaded workers do not hold long-lived sockets well).

Each client connection gets one upstream WebSocket, opened on the first configured upstream that
accepts the (signed, for SigV4) handshake and answers `eth_chainId` with our chain id; nothing of
the client's is relayed before that. The chain id is asked again every `HEALTH_INTERVAL_SECONDS`
on the open socket (and read from every `eth_chainId` the client asks): another chain, or no
answer within `HEALTH_TIMEOUT_SECONDS`, ends the session with 1011 and the client's reconnect
lands on the next upstream that verifies.

Client messages pass the same checks as over HTTP, with a narrower allow-list (subscriptions and
a few reads; everything else goes over HTTP); ws_session.py keeps the session's books: ids,
subscriptions, what may reach the client."""

import asyncio
import json
import logging
import signal
import socket
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from . import metrics
from .client_key import client_key
from .contracts import load_write_targets
from .jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    Call,
    Refusal,
    error_body,
    parse,
    validate_call,
)
from .policy import Policy
from .ratelimit import SharedRateLimiter
from .replies import secret_tokens
from .settings import ProxySettings
from .upstreams import auth_for, url_secrets
from .ws_clients import ClientConnections
from .ws_session import ChainAnswer, Dropped, ToClient, WsSession

log = logging.getLogger("pulseledger.proxy")


def _refused_label(refusal: Refusal) -> str:
    # The method label stays bounded: names off the allow-list are never used as label values.
    return "not_allowed" if refusal.code == METHOD_NOT_FOUND else "invalid"


def _no_tags(tag: str, fresh: bool) -> int:
    raise Refusal(400, INVALID_PARAMS, "give block numbers, not tags, over WebSocket")


class _UpstreamLost(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WsGateway:
    def __init__(self, settings: ProxySettings):
        if not settings.ws_upstreams:
            raise ValueError("PULSELEDGER_PROXY_WS_UPSTREAMS is empty")
        self._settings = settings
        targets = load_write_targets(settings)
        self._chain_id = targets.chain_id
        self._policy = Policy(settings.ws_allowed_methods, targets, settings.max_log_block_range)
        self._limiter = SharedRateLimiter(
            settings.rate_limit_per_second, settings.rate_limit_burst, settings.rate_limit_slots
        )
        self._clients = ClientConnections(settings.ws_max_connections_per_client)
        self._releases: set[asyncio.Task] = set()  # held so that they are not collected early
        self._upstreams = [
            (name, config.url.get_secret_value(), auth_for(config))
            for name, config in zip(
                settings.ws_upstream_names(), settings.ws_upstreams, strict=True
            )
        ]

    def _client(self, connection, request) -> str:
        peer = connection.remote_address[0] if connection.remote_address else None
        forwarded_for = ",".join(request.headers.get_all("X-Forwarded-For"))
        return client_key(peer, forwarded_for, self._settings.trusted_proxy_hops)

    def admit(self, connection, request, response):
        """The handshake's last step (`process_response`): a connection about to open counts
        against its client's cap, or is answered 429. Counted here rather than in `handle`, so a
        burst of handshakes cannot all pass before the first handler runs; released when the TCP
        connection ends, whether or not the handler ever ran."""
        if response.status_code != 101:
            return None
        client = self._client(connection, request)
        if not self._clients.admit(client):
            metrics.WS_REFUSED.labels("too_many_connections").inc()
            log.info("ws refused", extra={"status": 429, "outcome": "too_many_connections"})
            limit = self._settings.ws_max_connections_per_client
            return connection.respond(
                429, f"more than {limit} WebSocket connections from this client\n"
            )
        task = asyncio.get_running_loop().create_task(self._release_when_closed(connection, client))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)
        return None

    async def _release_when_closed(self, connection, client: str) -> None:
        try:
            await connection.wait_closed()
        finally:
            self._clients.release(client)

    def _session(self, url: str, auth, headers: dict[str, str]) -> WsSession:
        secrets = secret_tokens(*auth.secrets(headers), *url_secrets(url))
        s = self._settings
        return WsSession(self._chain_id, s.ws_max_subscriptions, s.ws_max_in_flight, secrets)

    async def _chain_at_connect(self, upstream, session: WsSession) -> ChainAnswer | None:
        """Asks the chain id on a freshly opened upstream socket before anything is relayed;
        None when no answer came within HEALTH_TIMEOUT_SECONDS."""
        proxy_id, message = session.chain_check()
        await upstream.send(message)
        deadline = time.monotonic() + self._settings.health_timeout_seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                answer = session.incoming(await asyncio.wait_for(upstream.recv(), remaining))
            except TimeoutError:
                return None
            if isinstance(answer, ChainAnswer) and answer.proxy_id == proxy_id:
                return answer
        return None

    async def _open_upstream(self):
        """(name, socket, session) on the first upstream that connects and serves our chain."""
        for name, url, auth in self._upstreams:
            upstream = None
            try:
                headers = auth.headers(url, b"", method="GET")
                upstream = await connect(
                    url,
                    additional_headers=headers,
                    open_timeout=self._settings.connect_timeout_seconds,
                    max_size=self._settings.max_response_bytes,
                    proxy=None,  # only the configured address is ever dialled
                )
                session = self._session(url, auth, headers)
                answer = await self._chain_at_connect(upstream, session)
                if answer is not None and answer.ok:
                    return name, upstream, session
                if answer is not None and answer.seen is not None:
                    metrics.CHAIN_MISMATCHES.labels(name).inc()
                    log.error(
                        "ws upstream serves another chain: skipped",
                        extra={"upstream": name, "chain_id": answer.seen},
                    )
                else:
                    log.warning(
                        "ws upstream attempt failed",
                        extra={"upstream": name, "outcome": "chain_check_failed"},
                    )
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
                log.warning(
                    "ws upstream attempt failed",
                    extra={"upstream": name, "outcome": type(exc).__name__},
                )
            if upstream is not None:
                await upstream.close()
        return None, None, None

    def _check(self, message) -> Call:
        """The checked client call; raises Refusal."""
        body = message.encode() if isinstance(message, str) else message
        parsed = parse(body)
        if isinstance(parsed, list):
            raise Refusal(400, INVALID_REQUEST, "batches are not accepted over WebSocket")
        call = validate_call(parsed)
        self._policy.check(call, _no_tags)
        if call.method == "eth_subscribe" and (
            call.params[0] not in self._settings.ws_allowed_subscriptions
        ):
            raise Refusal(403, INVALID_PARAMS, "subscription type not allowed", call.request_id)
        return call

    async def handle(self, client) -> None:
        client_name = self._client(client, client.request)
        name, upstream, session = await self._open_upstream()
        metrics.WS_CONNECTIONS.labels(name or "none").inc()
        if upstream is None:
            await client.close(1011, "no upstream available")
            return
        checks: dict[int, asyncio.Future] = {}

        async def client_to_upstream():
            async for message in client:
                if not self._limiter.allow(client_name)[0]:
                    await client.send(json.dumps(error_body(LIMIT_EXCEEDED, "rate limit exceeded")))
                    continue
                try:
                    call = self._check(message)
                    outgoing = session.outgoing(call)
                except Refusal as refusal:
                    log.info("refused", extra={"status": refusal.http_status, "code": refusal.code})
                    metrics.CALLS.labels(_refused_label(refusal), "refused").inc()
                    await client.send(json.dumps(refusal.body()))
                    continue
                metrics.CALLS.labels(call.method, "allowed").inc()
                await upstream.send(outgoing)

        async def upstream_to_client():
            async for message in upstream:
                answer = session.incoming(message)
                if isinstance(answer, ToClient):
                    await client.send(answer.text)
                elif isinstance(answer, ChainAnswer):
                    waiter = checks.pop(answer.proxy_id, None)
                    if not answer.ok:
                        wrong = answer.seen is not None
                        raise _UpstreamLost("wrong_chain" if wrong else "chain_check_failed")
                    if waiter is not None and not waiter.done():
                        waiter.set_result(True)
                elif isinstance(answer, Dropped):
                    metrics.WS_DROPPED.labels(name, answer.reason).inc()

        async def watch_chain():
            loop = asyncio.get_running_loop()
            while True:
                await asyncio.sleep(self._settings.health_interval_seconds)
                proxy_id, message = session.chain_check()
                checks[proxy_id] = loop.create_future()
                await upstream.send(message)
                try:
                    await asyncio.wait_for(checks[proxy_id], self._settings.health_timeout_seconds)
                except TimeoutError:
                    raise _UpstreamLost("chain_check_timeout") from None

        pumps = {
            asyncio.create_task(client_to_upstream()): "client",
            asyncio.create_task(upstream_to_client()): "upstream",
            asyncio.create_task(watch_chain()): "watch",
        }
        done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        first = done.pop()
        error = first.exception()
        if isinstance(error, _UpstreamLost):
            metrics.WS_UPSTREAM_CLOSED.labels(name, error.reason).inc()
            if error.reason == "wrong_chain":
                metrics.CHAIN_MISMATCHES.labels(name).inc()
            log.error("ws session ended", extra={"upstream": name, "reason": error.reason})
        elif pumps[first] == "upstream" or isinstance(error, ConnectionClosed):
            metrics.WS_UPSTREAM_CLOSED.labels(name, "closed").inc()
            log.warning("ws upstream closed", extra={"upstream": name})
        elif error is not None:
            log.error("ws session error", extra={"upstream": name, "error": type(error).__name__})
        await client.close(1011, "upstream closed; reconnect")
        await upstream.close()


def _plain_http(connection, request):
    """GET /healthz and /metrics on the WebSocket port; anything else goes on to the handshake."""
    if request.path == "/healthz":
        return connection.respond(200, "ok\n")
    if request.path == "/metrics":
        data, _ = metrics.render()
        return connection.respond(200, data.decode())
    return None


async def serve_forever(settings: ProxySettings, listener: socket.socket) -> None:
    gateway = WsGateway(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        gateway.handle,
        sock=listener,
        origins=[None, *(o.rstrip("/") for o in settings.cors_origins)],
        max_size=settings.max_body_bytes,
        process_request=_plain_http,
        process_response=gateway.admit,
    ):
        await stop.wait()


def run(settings: ProxySettings, bind: str) -> None:
    from . import logs

    logs.configure()
    if bind.startswith("fd://"):
        listener = socket.socket(fileno=int(bind[5:]))
    else:
        host, _, port = bind.rpartition(":")
        listener = socket.create_server((host, int(port)))
    asyncio.run(serve_forever(settings, listener))
