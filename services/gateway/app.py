"""The Flask application: blueprints, JSON errors (4xx with a reason, never a bare 500), metrics."""

from __future__ import annotations

import traceback
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from services.gateway import (
    routes_auth,
    routes_buyer,
    routes_doctor,
    routes_erasure,
    routes_exports,
    routes_fhir,
    routes_live,
    routes_onboarding,
    routes_owner,
    routes_profile,
    routes_relay,
)
from services.gateway.context import Gateway, client_address, gateway
from services.gateway.errors import GatewayError
from services.gateway.json_input import GatewayRequest, SafeJSONProvider
from services.gateway.observability import configure_logging, log, now, request_log_line
from services.gateway.openapi import openapi_document
from services.gateway.settings import GatewaySettings
from services.gateway.shared_state import SharedState
from services.records import InvalidInput

# Outside the per-client request budget: probes and scrapers must always get through (they run on
# the health pool, serving.py), the OpenAPI document is a constant, and nonces and sign-in attempts
# have budgets of their own (routes_auth.py).
UNBUDGETED_ENDPOINTS = {"healthz", "metrics", "openapi", "auth.nonce", "auth.sign_in"}


class GatewayFlask(Flask):
    json_provider_class = SafeJSONProvider  # every body parsed here: 4xx, never a 500
    request_class = GatewayRequest


def create_app(settings: GatewaySettings, *, ledger: Any, store: Any,
               blobs: Any | None = None, state: SharedState | None = None) -> Flask:
    configure_logging()
    app = GatewayFlask("pulseledger.gateway")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    context = Gateway(settings=settings, ledger=ledger, store=store, blobs=blobs, state=state)
    app.extensions["pulseledger_gateway"] = context
    for module in (routes_auth, routes_onboarding, routes_owner, routes_live, routes_buyer,
                   routes_relay, routes_fhir, routes_doctor, routes_profile, routes_erasure,
                   routes_exports):
        app.register_blueprint(module.blueprint)

    @app.get("/healthz")
    def healthz():
        gw = gateway()
        try:
            head = gw.ledger.head()
        except GatewayError as error:
            return jsonify(status="degraded", chain=error.message), 503
        try:
            gw.state.ping()
        except GatewayError as error:
            return jsonify(status="degraded", shared_store=error.message), 503
        return jsonify(status="ok", chain_id=gw.ledger.chain_id, head=head,
                       shared_store="redis" if gw.state.shared else "memory",
                       live_streams=gw.live.open_count())

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(context.metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    @app.before_request
    def start_timer():
        g.started = now()

    @app.before_request
    def spend_request_budget():
        if request.endpoint not in UNBUDGETED_ENDPOINTS:
            context.budgets.spend(context.limits.requests, client_address())

    @app.after_request
    def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and origin in settings.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Allow-Headers"] = \
                "Authorization, Content-Type, Last-Event-ID"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = \
                "X-PulseLedger-Delivery-Tx, X-PulseLedger-Associated-Data, " \
                "X-PulseLedger-Record-Version"
            response.vary.add("Origin")
        return response

    @app.after_request
    def record(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = now() - g.get("started", now())
        context.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        context.metrics.latency.labels(route).observe(elapsed)
        event, facts = request_log_line()
        log(event, method=request.method, route=route, status=response.status_code,
            ms=round(elapsed * 1000, 2), **facts)
        return response

    @app.errorhandler(GatewayError)
    def gateway_error(error: GatewayError):
        response = jsonify(error=error.code, message=error.message)
        if error.retry_after_s is not None:
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response, error.status

    @app.errorhandler(InvalidInput)
    def store_rejected(error: InvalidInput):
        return jsonify(error="bad_request", message=str(error)), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {413: f"body larger than {settings.max_body_bytes} bytes"}
        return jsonify(error=error.name.lower().replace(" ", "_"),
                       message=messages.get(error.code, error.description)), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Where, not what: an exception's message may carry values that must not reach the logs.
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        log("unexpected_error", kind=type(error).__name__, route=str(request.url_rule),
            at=f"{frame.filename}:{frame.lineno}" if frame else None)
        return jsonify(error="internal", message="internal error; see the gateway's logs"), 500

    return app
