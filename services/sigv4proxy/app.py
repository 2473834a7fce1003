"""The Flask app: POST / takes JSON-RPC, /healthz and /metrics report.

Order of checks, cheapest first, all before any upstream is called: origin and rate limit (for
every request, whatever its path), content type, size, JSON, shape, policy. The body forwarded
is the re-encoded parsed request, so the upstream sees exactly what was checked (no parser
differentials). Nothing in a response is built from the request line or its headers: no
redirect, no Location, ever."""

import json
import logging
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import metrics
from .admission import Admission
from .client_key import client_key
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
from .replies import Sent
from .settings import ProxySettings
from .upstreams import UpstreamPool, UpstreamTimeout, UpstreamUnavailable

log = logging.getLogger("pulseledger.proxy")
_JSON = "application/json"
_UTF8 = {"utf-8", "utf8"}
# The only paths served, matched on the raw path: Werkzeug's request.path strips leading slashes
# (`//` and `///` would be `/`) and its routing forgives a trailing one (`/healthz/`).
_PATHS = frozenset({"/", "/healthz", "/metrics"})


def create_app(settings: ProxySettings | None = None) -> Flask:
    settings = settings or ProxySettings()
    targets = load_write_targets(settings)
    pool = UpstreamPool(settings, targets.chain_id)
    policy = Policy(settings.allowed_methods, targets, settings.max_log_block_range)
    cors = CorsPolicy(settings.cors_origins)
    limiter = SharedRateLimiter(
        settings.rate_limit_per_second, settings.rate_limit_burst, settings.rate_limit_slots
    )
    allowed_methods = frozenset(settings.allowed_methods)
    board_metrics = metrics.BoardCollector(settings.upstream_names(), pool.board)

    def count_call(method: str, outcome: str) -> None:
        metrics.CALLS.labels(method if method in allowed_methods else "not_allowed", outcome).inc()

    admission = Admission(policy, settings.batch_policy, settings.max_batch_size, count_call)

    app = Flask(__name__)
    # Werkzeug answers `//` or a missing trailing slash with a 308 to the same path on the
    # request's Host: a redirect built from a client header. Matching is exact instead.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.url_map.redirect_defaults = False
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

    @app.before_request
    def admit_client():
        """Runs before routing errors are raised, so every path and verb meets these first."""
        g.started = time.monotonic()
        if request.method != "OPTIONS" and not cors.allows(request.headers.get("Origin")):
            return refuse(Refusal(403, INVALID_REQUEST, "origin not allowed"))
        forwarded_for = request.headers.get("X-Forwarded-For", "")
        client = client_key(request.remote_addr, forwarded_for, settings.trusted_proxy_hops)
        allowed, retry_after = limiter.allow(client)
        if not allowed:
            return refuse(
                Refusal(429, LIMIT_EXCEEDED, "rate limit exceeded"),
                extra_headers={"Retry-After": str(max(1, round(retry_after)))},
            )
        if (request.environ.get("PATH_INFO") or "/") not in _PATHS:
            return json_response(error_body(INVALID_REQUEST, "Not Found"), 404)
        return None

    # Flask would answer OPTIONS itself, with no CORS checks: preflight() below owns it.
    @app.route("/", methods=["POST"], provide_automatic_options=False)
    def rpc():
        deadline = g.started + settings.upstream_timeout_seconds
        try:
            if request.mimetype != _JSON:
                raise Refusal(415, INVALID_REQUEST, "Content-Type must be application/json")
            charset = request.mimetype_params.get("charset")
            if charset is not None and charset.lower() not in _UTF8:
                raise Refusal(415, INVALID_REQUEST, "only UTF-8 bodies are accepted")
            limit = settings.max_body_bytes
            if request.content_length is not None and request.content_length > limit:
                raise Refusal(413, LIMIT_EXCEEDED, f"body larger than {limit} bytes")
            raw = request.stream.read(limit + 1)
            if len(raw) > limit:
                raise Refusal(413, LIMIT_EXCEEDED, f"body larger than {limit} bytes")
            parsed = parse(raw)
            admission.check(parsed, lambda tag, fresh: pool.block_number(tag, deadline, fresh))
        except Refusal as refusal:
            return refuse(refusal)
        except (UpstreamTimeout, UpstreamUnavailable):  # resolving a tag for eth_getLogs
            return json_response(
                unavailable(parsed, "chain head unknown: no upstream answered"), 503
            )

        forward_body = json.dumps(parsed, separators=(",", ":")).encode()
        try:
            reply = pool.forward(forward_body, Sent.of(parsed), deadline)
        except UpstreamTimeout:
            return json_response(
                unavailable(parsed, "upstream did not answer within the deadline"), 504
            )
        except UpstreamUnavailable:
            return json_response(unavailable(parsed, "no upstream available"), 502)
        return json_response(reply.body, 200)

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
        data, content_type = metrics.render(board_metrics)
        return Response(data, content_type=content_type)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 400
        if 300 <= status < 400:  # a routing redirect: never sent (see url_map above)
            status = 404
        return json_response(
            error_body(INVALID_REQUEST, "Not Found" if status == 404 else exc.name), status
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.error("unexpected error", extra={"error": type(exc).__name__})
        return json_response(error_body(INTERNAL_ERROR, "internal error"), 500)

    @app.after_request
    def observe(response: Response) -> Response:
        if 300 <= response.status_code < 400 or "Location" in response.headers:
            # Flask hands routing redirects straight back as responses; none may leave.
            response = json_response(error_body(INVALID_REQUEST, "Not Found"), 404)
        metrics.REQUESTS.labels(str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.observe(time.monotonic() - g.get("started", time.monotonic()))
        return response

    return app


def unavailable(parsed, message: str) -> dict | list[dict]:
    """The proxy's own error in place of any upstream answer, for an admitted call or batch: one
    per call, under its id (a batch gets an array, as JSON-RPC clients match answers by id)."""
    if isinstance(parsed, list):
        return [error_body(RESOURCE_UNAVAILABLE, message, call["id"]) for call in parsed]
    return error_body(RESOURCE_UNAVAILABLE, message, parsed["id"])
