"""Prometheus metrics and structured (JSON) logs.

Logs carry the route template, status, duration and the signed-in address at most: never bodies,
keys, signatures, emails or health values (an address is a public pseudonym already on-chain).
"""

from __future__ import annotations

import json
import logging
import sys
import time

from flask import g
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LOGGER_NAME = "pulseledger.gateway"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gateway_requests_total", "HTTP requests by route and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("gateway_request_seconds", "HTTP request latency by route",
                                 ["route"], registry=self.registry)
        self.deliveries = Counter("gateway_deliveries_total", "Records delivered to buyers",
                                  ["format"], registry=self.registry)
        self.refusals = Counter("gateway_refusals_total", "Buyer requests refused, by reason code",
                                ["code"], registry=self.registry)
        self.chain_tx = Counter("gateway_chain_transactions_total",
                                "Transactions sent from the gateway's account", ["function"],
                                registry=self.registry)
        self.sse_streams = Counter("gateway_sse_streams_total", "Live streams opened",
                                   registry=self.registry)
        self.integrity_failures = Counter(
            "gateway_record_integrity_failures_total",
            "Records not served because they failed their integrity checks (tampered, key "
            "missing), by read path", ["path", "problem"], registry=self.registry)
        self.live_open = Gauge("gateway_live_streams_open", "Live streams open on this replica",
                               registry=self.registry)
        self.budget_refusals = Counter("gateway_budget_refusals_total",
                                       "Requests refused (429) because a budget was spent",
                                       ["budget"], registry=self.registry)
        self.shed = Counter("gateway_shed_total", "Requests answered 503/429 by the server "
                            "before any handler ran, by pool and reason", ["pool", "reason"],
                            registry=self.registry)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "event": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, separators=(",", ":"))


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return logger


def log(event: str, **fields: object) -> None:
    logging.getLogger(LOGGER_NAME).info(event, extra={"fields": fields})


def name_request(event: str, **fields: object) -> None:
    """Give this request's one log line its event name and facts (e.g. `record_delivered`, the
    record and the buyer) instead of logging a second line: at hundreds of reads a second, a
    second JSON line per read was a measurable share of the gateway's time and of its log volume.
    The line itself is written after the response is made (app.py), with method, route, status
    and duration."""
    g.log_event = event
    g.log_fields = fields


def request_log_line() -> tuple[str, dict[str, object]]:
    """The event name and extra facts a handler gave this request (`name_request`), if any."""
    return g.get("log_event", "request"), g.get("log_fields", {})


def now() -> float:
    return time.perf_counter()
