"""WebSocket subscriptions through the proxy (`pulseledger proxy-ws`, an asyncio process of its own:
gunicorn's threaded workers do not hold long-lived sockets well).

Each client connection gets one upstream WebSocket, opened on the first configured upstream that
accepts the (signed, for SigV4) handshake. Client messages pass the same checks as over HTTP, with
a narrower allow-list (subscriptions and a few reads; everything else goes over HTTP); upstream
messages (answers and subscription events) go back untouched. When the upstream goes away the
client connection is closed with 1011, and the client's reconnect lands on the next upstream."""

import asyncio
import json
import logging
import signal
import socket

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from . import metrics
from .contracts import load_write_targets
from .jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    Refusal,
    error_body,
    parse,
    validate_call,
)
from .policy import Policy
from .ratelimit import SharedRateLimiter
from .settings import ProxySettings
from .upstreams import auth_for

log = logging.getLogger("pulseledger.proxy")


def _refused_label(refusal: Refusal) -> str:
    # The method label stays bounded: names off the allow-list are never used as label values.
    return "not_allowed" if refusal.code == METHOD_NOT_FOUND else "invalid"


def _no_head() -> int:
    raise Refusal(400, INVALID_PARAMS, "give block numbers, not tags, over WebSocket")


class WsGateway:
    def __init__(self, settings: ProxySettings):
        if not settings.ws_upstreams:
            raise ValueError("PULSELEDGER_PROXY_WS_UPSTREAMS is empty")
        self._settings = settings
        targets = load_write_targets(settings)
        self._policy = Policy(
            settings.ws_allowed_methods, targets, settings.max_log_block_range, _no_head
        )
        self._limiter = SharedRateLimiter(
            settings.rate_limit_per_second, settings.rate_limit_burst, settings.rate_limit_slots
        )
        self._upstreams = [
            (name, config.url.get_secret_value(), auth_for(config))
            for name, config in zip(
                settings.ws_upstream_names(), settings.ws_upstreams, strict=True
            )
        ]

    async def _open_upstream(self):
        for name, url, auth in self._upstreams:
            try:
                headers = auth.headers(url, b"", method="GET")
                upstream = await connect(
                    url,
                    additional_headers=headers,
                    open_timeout=self._settings.connect_timeout_seconds,
                    max_size=self._settings.max_response_bytes,
                    proxy=None,  # only the configured address is ever dialled
                )
                return name, upstream
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                log.warning(
                    "ws upstream attempt failed",
                    extra={"upstream": name, "outcome": type(exc).__name__},
                )
        return None, None

    def _check(self, message, subscriptions: int) -> tuple[dict, int]:
        """The parsed call to forward and the new subscription count; raises Refusal."""
        body = message.encode() if isinstance(message, str) else message
        parsed = parse(body)
        if isinstance(parsed, list):
            raise Refusal(400, INVALID_REQUEST, "batches are not accepted over WebSocket")
        call = validate_call(parsed)
        self._policy.check(call)
        if call.method == "eth_subscribe":
            kind = call.params[0] if isinstance(call.params, list) and call.params else None
            if kind not in self._settings.ws_allowed_subscriptions:
                raise Refusal(403, INVALID_PARAMS, "subscription type not allowed", call.request_id)
            if subscriptions >= self._settings.ws_max_subscriptions:
                raise Refusal(429, LIMIT_EXCEEDED, "too many subscriptions", call.request_id)
            subscriptions += 1
        elif call.method == "eth_unsubscribe":
            subscriptions = max(0, subscriptions - 1)
        return parsed, subscriptions

    async def handle(self, client) -> None:
        client_key = client.remote_address[0] if client.remote_address else "unknown"
        name, upstream = await self._open_upstream()
        metrics.WS_CONNECTIONS.labels(name or "none").inc()
        if upstream is None:
            await client.close(1011, "no upstream available")
            return

        async def client_to_upstream():
            subscriptions = 0
            async for message in client:
                if not self._limiter.allow(client_key)[0]:
                    await client.send(json.dumps(error_body(LIMIT_EXCEEDED, "rate limit exceeded")))
                    continue
                try:
                    parsed, subscriptions = self._check(message, subscriptions)
                except Refusal as refusal:
                    log.info("refused", extra={"status": refusal.http_status, "code": refusal.code})
                    metrics.CALLS.labels(_refused_label(refusal), "refused").inc()
                    await client.send(json.dumps(refusal.body()))
                    continue
                metrics.CALLS.labels(parsed["method"], "allowed").inc()
                await upstream.send(json.dumps(parsed, separators=(",", ":")))

        async def upstream_to_client():
            async for message in upstream:
                await client.send(message)

        pumps = {
            asyncio.create_task(client_to_upstream()): "client",
            asyncio.create_task(upstream_to_client()): "upstream",
        }
        done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        first = done.pop()
        if pumps[first] == "upstream" or isinstance(first.exception(), ConnectionClosed):
            log.warning("ws upstream closed", extra={"upstream": name})
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
