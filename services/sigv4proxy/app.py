"""The Flask app: POST / takes JSON-RPC, /healthz and /metrics report.

Order of checks, cheapest first, all before any upstream is called: origin, rate limit, content
type, size, JSON, shape, policy. The body forwarded is the re-encoded parsed request, so the
upstream sees exactly what was checked (no parser differentials)."""

import json
import logging
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import metrics
from .admission import Admission
from .contracts import load_write_targets
from .cors import CorsPolicy
from .jsonrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    RESOURCE_UNAVAILABLE,
    Refusal,
    error_body,
    parse,
)
from .policy import Policy
from .ratelimit import SharedRateLimiter
from .settings import ProxySettings
from .upstreams import UpstreamPool, UpstreamTimeout, UpstreamUnavailable

log = logging.getLogger("pulseledger.proxy")
_JSON = "application/json"


def create_app(settings: ProxySettings | None = None) -> Flask:
    settings = settings or ProxySettings()
    targets = load_write_targets(settings)
    pool = UpstreamPool(settings, targets.chain_id)
    policy = Policy(
        settings.allowed_methods, targets, settings.max_log_block_range, pool.head_block
    )
    cors = CorsPolicy(settings.cors_origins)
    limiter = SharedRateLimiter(
        settings.rate_limit_per_second, settings.rate_limit_burst, settings.rate_limit_slots
    )
    allowed_methods = frozenset(settings.allowed_methods)

    def count_call(method: str, outcome: str) -> None:
        metrics.CALLS.labels(method if method in allowed_methods else "not_allowed", outcome).inc()

    admission = Admission(policy, settings.batch_policy, settings.max_batch_size, count_call)

    app = Flask(__name__)
    app.extensions["pulseledger_proxy_pool"] = pool

    def json_response(payload, status: int, extra_headers: dict | None = None) -> Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        response = Response(body, status=status, content_type=_JSON)
        response.headers.update(cors.response_headers(request.headers.get("Origin")))
        if extra_headers:
            response.headers.update(extra_headers)
        return response

    def refuse(refusal: Refusal, extra_headers: dict | None = None) -> Response:
        log.info("refused", extra={"status": refusal.http_status, "code": refusal.code})
        return json_response(refusal.body(), refusal.http_status, extra_headers)

    def client_key() -> str:
        hops = settings.trusted_proxy_hops
        if hops > 0:
            forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
            if len(forwarded) >= hops and forwarded[-hops]:
                return forwarded[-hops]
        return request.remote_addr or "unknown"

    # Flask would answer OPTIONS itself, with no CORS checks: preflight() below owns it.
    @app.route("/", methods=["POST"], provide_automatic_options=False)
    def rpc():
        started = g.started
        origin = request.headers.get("Origin")
        try:
            if not cors.allows(origin):
                raise Refusal(403, INVALID_REQUEST, "origin not allowed")
            allowed, retry_after = limiter.allow(client_key())
            if not allowed:
                return refuse(
                    Refusal(429, LIMIT_EXCEEDED, "rate limit exceeded"),
                    extra_headers={"Retry-After": str(max(1, round(retry_after)))},
                )
            if request.mimetype != _JSON:
                raise Refusal(415, INVALID_REQUEST, "Content-Type must be application/json")
            limit = settings.max_body_bytes
            if request.content_length is not None and request.content_length > limit:
                raise Refusal(413, LIMIT_EXCEEDED, f"body larger than {limit} bytes")
            raw = request.stream.read(limit + 1)
            if len(raw) > limit:
                raise Refusal(413, LIMIT_EXCEEDED, f"body larger than {limit} bytes")
            parsed = parse(raw)
            admission.check(parsed)
        except Refusal as refusal:
            return refuse(refusal)
        except (UpstreamTimeout, UpstreamUnavailable):  # resolving "latest" for eth_getLogs
            return json_response(
                error_body(RESOURCE_UNAVAILABLE, "chain head unknown: no upstream answered"), 503
            )

        deadline = started + settings.upstream_timeout_seconds
        forward_body = json.dumps(parsed, separators=(",", ":")).encode()
        try:
            reply = pool.forward(forward_body, deadline)
        except UpstreamTimeout:
            return json_response(
                error_body(
                    RESOURCE_UNAVAILABLE, "upstream did not answer within the deadline", _id(parsed)
                ),
                504,
            )
        except UpstreamUnavailable:
            return json_response(
                error_body(RESOURCE_UNAVAILABLE, "no upstream available", _id(parsed)), 502
            )
        if (
            reply.status == 200
            and isinstance(parsed, dict)
            and parsed["method"] == "eth_blockNumber"
        ):
            _observe_head(pool, reply)
        return json_response(reply.body, reply.status)

    @app.route("/", methods=["OPTIONS"])
    def preflight():
        headers = cors.preflight(
            request.headers.get("Origin"),
            request.headers.get("Access-Control-Request-Method"),
            request.headers.get("Access-Control-Request-Headers"),
        )
        if headers is None:
            return Response(status=403, headers={"Vary": "Origin"})
        return Response(status=204, headers=headers)

    @app.get("/healthz")
    def healthz():
        upstreams = pool.status()
        healthy = sum(u["healthy"] for u in upstreams)
        state = "ok" if healthy == len(upstreams) else "degraded" if healthy else "down"
        body = {"status": state, "chain_id": targets.chain_id, "upstreams": upstreams}
        return Response(json.dumps(body), status=200 if healthy else 503, content_type=_JSON)

    @app.get("/metrics")
    def prometheus():
        data, content_type = metrics.render()
        return Response(data, content_type=content_type)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return json_response(error_body(INVALID_REQUEST, exc.name), exc.code or 400)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.error("unexpected error", extra={"error": type(exc).__name__})
        return json_response(error_body(INTERNAL_ERROR, "internal error"), 500)

    @app.before_request
    def start_clock() -> None:
        g.started = time.monotonic()

    @app.after_request
    def observe(response: Response) -> Response:
        metrics.REQUESTS.labels(str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.observe(time.monotonic() - g.started)
        return response

    return app


def _observe_head(pool: UpstreamPool, reply) -> None:
    try:
        pool.observe_head(int(json.loads(reply.body)["result"], 16))
    except (ValueError, KeyError, TypeError):
        pass  # an error answer: nothing learnt


def _id(parsed):
    return parsed.get("id") if isinstance(parsed, dict) else None
