"""The device endpoint's Flask application.

POST /v1/readings  one signed message (docs/devices.md): 202 with what was accepted, or a 4xx
                   with the reason (every refused message or reading is also dead-lettered);
                   429 + Retry-After when this client, this device or the queue must slow down;
                   503 + Retry-After when the record store or the queue cannot be reached.
GET  /healthz      queue and record store reachable (and whether the queue is behind)
GET  /metrics      Prometheus

Cheapest refusals first: a client's budgets and the queue's depth are checked before its body
is read, so a flood costs a dictionary lookup per request, not a signature check.
"""

from __future__ import annotations

import time
import traceback

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from services.device_ingest.admission import Admission, StoreUnavailable
from services.device_ingest.answers import Answer, slow_down, unavailable
from services.device_ingest.backpressure import QueueBehind
from services.device_ingest.client_address import client_address
from services.device_ingest.metrics import Metrics, configure_logging, log_event
from services.device_ingest.settings import DeviceIngestSettings
from services.runtime.token_buckets import TokenBuckets

HEALTH_PROBE_DEVICE = "healthz"  # never a peer id: the lookup only proves the store answers


def create_app(settings: DeviceIngestSettings, *, admission: Admission, behind: QueueBehind,
               metrics: Metrics, on_close=None) -> Flask:
    configure_logging()
    app = Flask("pulseledger.device_ingest")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    trusted = frozenset(settings.trusted_proxies)
    requests_budget = TokenBuckets(settings.client_requests_per_s, settings.client_request_burst,
                                   settings.max_tracked_keys)
    rejects_budget = TokenBuckets(settings.client_rejects_per_s, settings.client_reject_burst,
                                  settings.max_tracked_keys)
    app.extensions["pulseledger_device_ingest"] = {"admission": admission, "behind": behind,
                                                   "close": on_close}

    def answer(result: Answer) -> Response:
        response = jsonify(result.body)
        response.status_code = result.status
        response.headers.update(result.headers)
        return response

    def refused_early(why: str, result: Answer) -> Response:
        metrics.refusals.labels(why).inc()
        g.reason = why
        return answer(result)

    @app.post("/v1/readings")
    def post_readings():
        client = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                trusted)
        wait = requests_budget.take(client)
        if wait:
            return refused_early("client_budget", slow_down(
                "client_budget", f"at most {settings.client_requests_per_s:g} requests a second "
                f"from one address (bursts of {settings.client_request_burst})", wait))
        wait = rejects_budget.wait(client)
        if wait:
            return refused_early("reject_budget", slow_down(
                "reject_budget", "too many refused messages from this address lately: fix "
                "what the earlier answers said before sending more", wait))
        if request.mimetype != "application/json":
            return refused_early("media_type", Answer(415, {
                "error": "unsupported_media_type",
                "message": "send the signed message as Content-Type: application/json"}))
        if request.headers.get("Content-Encoding", "identity") != "identity":
            return refused_early("media_type", Answer(415, {
                "error": "unsupported_media_type",
                "message": "send the body without Content-Encoding"}))
        try:
            retry = behind.retry_after()
            metrics.queue_depth.set(behind.depth())
        except Exception:  # noqa: BLE001 - the queue cannot be read: nothing can be queued
            return refused_early("unavailable", unavailable("the queue cannot be reached"))
        if retry is not None:
            return refused_early("backpressure", slow_down(
                "backpressure", "the pipeline is behind: send this message again later", retry))
        raw = request.get_data(cache=False)  # 413 beyond MAX_CONTENT_LENGTH, never read whole
        try:
            result, signed = admission.admit(raw)
        except StoreUnavailable:
            return refused_early("unavailable", unavailable(
                "the record store or the queue cannot be reached"))
        if result.status >= 400 and result.status != 429 and not signed:
            rejects_budget.charge(client)
        g.accepted = result.body.get("accepted", 0)
        g.reason = result.body.get("reason")
        return answer(result)

    @app.get("/healthz")
    def healthz():
        try:
            depth = behind.depth()
            admission.store.get_device(HEALTH_PROBE_DEVICE)
        except Exception as error:  # noqa: BLE001
            return jsonify(status="down", problem=type(error).__name__), 503
        metrics.queue_depth.set(depth)
        return jsonify(status="ok", queue_depth=depth, behind=depth > behind.limit)

    @app.get("/metrics")
    def prometheus():
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        if request.method == "POST":
            metrics.latency.observe(time.perf_counter() - g.started)
        metrics.requests.labels(str(response.status_code)).inc()
        route = request.url_rule.rule if request.url_rule else "unmatched"
        if route != "/metrics":
            log_event("request", method=request.method, route=route,
                      status=response.status_code, accepted=g.get("accepted", 0),
                      reason=g.get("reason"))
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {413: f"body larger than {settings.max_body_bytes} bytes: send fewer "
                         "readings per message"}
        if error.code == 413:
            metrics.refusals.labels("too_large").inc()
        response = jsonify(error=error.name.lower().replace(" ", "_"),
                           message=messages.get(error.code, error.description))
        response.status_code = error.code
        if error.code == 405:
            response.headers["Allow"] = ", ".join(error.valid_methods or ())
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Where, not what: an exception's message may carry values that must not reach logs.
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        log_event("unexpected_error", kind=type(error).__name__,
                  at=f"{frame.filename}:{frame.lineno}" if frame else None)
        return jsonify(error="internal", message="internal error; see the endpoint's logs"), 500

    return app
