"""The gateway's HTTP server: uvicorn (asyncio) in front, the Flask app run in thread pools behind,
one pool per kind of request.

Why not one pool of threads (gunicorn's gthread): a thread is taken before the request is read, so
16 open live streams held all 16 threads and /healthz and sign-in waited until a stream ended. Here
the event loop reads every request first — holding no thread — and only then hands it to the pool
of its kind:

    health   /healthz, /metrics            HEALTH_THREADS
    auth     /auth/*                       AUTH_THREADS
    live     /patients/<owner>/live        LIVE_TOTAL (+ a few to say "no" with a reason)
    default  everything else               WORKERS_THREADS

A pool admits at most its threads plus QUEUE_DEPTH waiting requests; beyond that the answer is
503 Busy with Retry-After at once, so a flood of one kind cannot delay another kind at all.
Before a pool, each client address may have PER_CLIENT_IN_FLIGHT requests in flight (429 beyond;
health and live streams have their own bounds), and a body is read only up to MAX_BODY_BYTES
(413). When a client disconnects, a live stream is woken and ends at once (disconnect.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from services.gateway.client_address import resolve_client
from services.gateway.context import CLIENT_KEY
from services.gateway.disconnect import ENVIRON_KEY, ClientGone
from services.gateway.observability import Metrics, log
from services.gateway.settings import GatewaySettings

LIVE_PATH = re.compile(r"/patients/[^/]+/live")
LIVE_SPARE_THREADS = 4  # refusals of a full account still get a thread to say why
SEND_TIMEOUT_S = 30.0  # a client that reads nothing for this long is dropped (slow-read)
UNLIMITED_PER_CLIENT = frozenset({"health", "live"})


def pool_for(path: str) -> str:
    if path in ("/healthz", "/metrics"):
        return "health"
    if path.startswith("/auth/"):
        return "auth"
    if LIVE_PATH.fullmatch(path):
        return "live"
    return "default"


@dataclass
class Pool:
    name: str
    threads: int
    queue: int
    executor: ThreadPoolExecutor = field(init=False)
    admitted: int = 0  # touched on the event loop only: no lock

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix=f"gw-{self.name}")

    def admit(self) -> bool:
        if self.admitted >= self.threads + self.queue:
            return False
        self.admitted += 1
        return True

    def done(self) -> None:
        self.admitted -= 1


def pools_from_settings(settings: GatewaySettings) -> dict[str, Pool]:
    return {
        "health": Pool("health", settings.health_threads, 4),
        "auth": Pool("auth", settings.auth_threads, settings.queue_depth),
        "live": Pool("live", settings.live_total + LIVE_SPARE_THREADS, 0),
        "default": Pool("default", settings.workers_threads, settings.queue_depth),
    }


class GatewayServer:
    """An ASGI application around the gateway's WSGI (Flask) app."""

    def __init__(self, wsgi_app: Callable, settings: GatewaySettings, metrics: Metrics):
        self._app = wsgi_app
        self._settings = settings
        self._metrics = metrics
        self.pools = pools_from_settings(settings)
        self._trusted = frozenset(settings.trusted_proxies)
        self._in_flight: dict[str, int] = defaultdict(int)  # event loop only

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here
        pool = self.pools[pool_for(scope["path"])]
        client = resolve_client((scope.get("client") or ("unknown", 0))[0],
                                _header(scope, b"x-forwarded-for"), self._trusted)
        capped = pool.name not in UNLIMITED_PER_CLIENT
        if capped and self._in_flight[client] >= self._settings.per_client_in_flight:
            self._metrics.shed.labels(pool.name, "per_client").inc()
            await _answer(send, 429, "rate_limited", "too many requests in flight from this "
                          "client address: wait for an answer first", retry_after=1)
            return
        if capped:
            self._in_flight[client] += 1
        try:
            body = await self._read_body(scope, receive, send)
            if body is None:
                return
            if not pool.admit():
                self._metrics.shed.labels(pool.name, "pool_full").inc()
                await _answer(send, 503, "busy", f"the gateway's {pool.name} capacity is in use: "
                              "retry shortly", retry_after=1)
                return
            try:
                await self._run(pool, scope, body, client, receive, send)
            finally:
                pool.done()
        finally:
            if capped:
                self._in_flight[client] -= 1
                if not self._in_flight[client]:
                    del self._in_flight[client]

    async def _read_body(self, scope: dict, receive: Callable, send: Callable) -> bytes | None:
        limit = self._settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _answer(send, 413, "request_entity_too_large",
                          f"body larger than {limit} bytes")
            return None
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self._settings.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await _answer(send, 413, "request_entity_too_large",
                                      f"body larger than {limit} bytes")
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            await _answer(send, 408, "request_timeout",
                          f"the body did not arrive within {self._settings.body_timeout_s:g} s")
            return None

    async def _run(self, pool: Pool, scope: dict, body: bytes, client: str,
                   receive: Callable, send: Callable) -> None:
        loop = asyncio.get_running_loop()
        gone = ClientGone()
        environ = _environ(scope, body, client, gone)

        def send_from_thread(messages: list[dict]) -> None:
            future = asyncio.run_coroutine_threadsafe(_send_all(send, messages), loop)
            try:
                future.result(SEND_TIMEOUT_S)
            except TimeoutError:
                future.cancel()
                gone.set()

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch_disconnect())
        try:
            answer = await loop.run_in_executor(pool.executor, _call_wsgi, self._app, environ,
                                                gone, send_from_thread)
            if answer and not gone.is_set():
                # A sized answer, sent from here: the thread is free already, and the loop
                # is not woken once per message from another thread.
                try:
                    await asyncio.wait_for(_send_all(send, answer), SEND_TIMEOUT_S)
                except TimeoutError:
                    gone.set()
        finally:
            watcher.cancel()

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for pool in self.pools.values():
                    pool.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _call_wsgi(app: Callable, environ: dict, gone: ClientGone,
               send: Callable[[list[dict]], None]) -> list[dict]:
    """Run the WSGI app in a pool thread. An answer with a Content-Length (every answer but a
    stream) is returned whole, for the event loop to send; a stream is sent from here as it
    is produced, through the event loop (`send`), and nothing is returned."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        if exc_info is not None and started.get("sent"):
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                              for k, v in headers]
        started["sized"] = any(k == b"content-length" for k, _ in started["headers"])
        return lambda data: emit(data)

    def head() -> dict:
        started["sent"] = True
        return {"type": "http.response.start", "status": started["status"],
                "headers": started["headers"]}

    def emit(data: bytes) -> None:
        messages = [] if started.get("sent") else [head()]
        if data:
            messages.append({"type": "http.response.body", "body": data, "more_body": True})
        if messages:
            send(messages)

    try:
        result = app(environ, start_response)
    except Exception as error:  # noqa: BLE001 - Flask answers its own errors; this is the rest
        log("unexpected_error", kind=type(error).__name__, route=environ.get("PATH_INFO"))
        return [{"type": "http.response.start", "status": 500,
                 "headers": [(b"content-type", b"application/json")]},
                {"type": "http.response.body",
                 "body": b'{"error":"internal","message":"internal error"}'}]
    try:
        if started.get("sized"):
            body = b"".join(result)
            return [head(), {"type": "http.response.body", "body": body}]
        for chunk in result:
            if gone.is_set():
                return []
            emit(chunk)
        if not gone.is_set():
            emit(b"")
            send([{"type": "http.response.body", "body": b"", "more_body": False}])
    except Exception as error:  # noqa: BLE001 - a body that fails half-way: end the response
        log("response_failed", kind=type(error).__name__, route=environ.get("PATH_INFO"))
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return []


async def _send_all(send: Callable, messages: list[dict]) -> None:
    for message in messages:
        await send(message)


def _environ(scope: dict, body: bytes, client: str, gone: ClientGone) -> dict[str, Any]:
    server = scope.get("server") or ("127.0.0.1", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client, "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        CLIENT_KEY: client, ENVIRON_KEY: gone,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper()
        if "_" in name:
            continue  # X_Forwarded_For would pose as X-Forwarded-For once underscored
        value = raw_value.decode("latin-1")
        key = name.replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
            continue
        if key == "CONTENT_LENGTH":
            continue  # the length we read, set above
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _header(scope: dict, name: bytes) -> str | None:
    values = [v for k, v in scope.get("headers", []) if k.lower() == name]
    return b",".join(values).decode("latin-1") if values else None


async def _answer(send: Callable, status: int, code: str, message: str,
                  retry_after: int | None = None) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None]):
        super().__init__(config)
        self._on_stop = on_stop

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._on_stop()
        super().handle_exit(sig, frame)


def build_server(app: Any, settings: GatewaySettings, host: str, port: int, *,
                 on_stop: Callable[[], None]) -> uvicorn.Server:
    """The server for `app`; on SIGTERM/SIGINT `on_stop` runs first (it ends live streams, so
    the graceful shutdown does not wait an hour for them)."""
    server_app = GatewayServer(app, settings, app.extensions["pulseledger_gateway"].metrics)
    # httptools and uvloop: uvicorn's pure-Python HTTP parser and asyncio's own loop were ~40% of
    # the interpreter's time per served buyer read (py-spy, docs/decisions/2026-12-03-served-reads.md).
    config = uvicorn.Config(server_app, host=host, port=port, lifespan="on", log_config=None,
                            http="httptools", loop="uvloop",
                            access_log=False, server_header=False, timeout_keep_alive=5,
                            timeout_graceful_shutdown=10)
    log("serving", host=host, port=port,
        pools={name: pool.threads for name, pool in server_app.pools.items()})
    return _Server(config, on_stop)


def serve(app: Any, settings: GatewaySettings, host: str, port: int, *,
          on_stop: Callable[[], None]) -> None:
    build_server(app, settings, host, port, on_stop=on_stop).run()
