"""The endpoint's Prometheus metrics and its structured log line per request.

Logs carry the route, status, duration, how many readings were accepted and the refusal reason
(a reason names a field, never its value): never a body, a signature, a peer id, a client address
or a health value.
"""

from __future__ import annotations

import json
import logging
import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LOGGER = "pulseledger.device_ingest"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("device_ingest_requests_total", "HTTP requests by status",
                                ["status"], registry=self.registry)
        self.latency = Histogram("device_ingest_request_seconds", "Time to answer a POST",
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
        self.accepted_readings = Counter("device_ingest_readings_accepted_total",
                                         "Readings queued", registry=self.registry)
        self.dead_letters = Counter("device_ingest_dead_letters_total",
                                    "Refusals dead-lettered, by kind of reason", ["kind"],
                                    registry=self.registry)
        self.refusals = Counter("device_ingest_slowed_down_total",
                                "Requests answered 429/413/415/503 without judging them, by why",
                                ["why"], registry=self.registry)
        self.queue_depth = Gauge("device_ingest_queue_depth", "Messages waiting in the queue "
                                 "(last sample)", registry=self.registry)


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "event": record.getMessage(),
                **getattr(record, "fields", {})}
        return json.dumps(line, separators=(",", ":"))


def configure_logging() -> None:
    logger = logging.getLogger(LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonLines())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def log_event(event: str, **fields: object) -> None:
    logging.getLogger(LOGGER).info(event, extra={"fields": fields})
