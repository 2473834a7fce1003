"""What the listener daemons report on the shared health server (services.runtime): /healthz
and Prometheus /metrics, on 127.0.0.1.

Values are read from the daemon's own counters at scrape time; nothing here writes state."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.runtime.health_server import HealthServer, json_health, registry_metrics
from services.runtime.sqlite_helpers import connect_read_only

if TYPE_CHECKING:
    from services.listeners.daemon import Daemon


def read_snapshot(path) -> tuple[int | None, dict[str, int]]:
    """Cursor and effects by status, through a read-only connection of the scrape's own."""
    db = connect_read_only(path)
    try:
        row = db.execute("SELECT block_number FROM cursor").fetchone()
        counts = dict(db.execute("SELECT status, COUNT(*) FROM effects GROUP BY status"))
        return (row[0] if row else None), counts
    finally:
        db.close()


class DaemonCollector:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self):
        prefix = "pulseledger_listener"
        cursor = GaugeMetricFamily(f"{prefix}_cursor_block", "Last processed block", labels=["daemon"])
        head = GaugeMetricFamily(f"{prefix}_head_block", "Chain head at the last poll",
                                 labels=["daemon"])
        events = CounterMetricFamily(f"{prefix}_events", "Events handled since start",
                                     labels=["daemon"])
        reorgs = CounterMetricFamily(f"{prefix}_deep_reorgs", "Reorgs deeper than the "
                                     "confirmation depth", labels=["daemon"])
        unprocessable = CounterMetricFamily(f"{prefix}_unprocessable_events", "Events "
                                            "dead-lettered", labels=["daemon"])
        emails = CounterMetricFamily(f"{prefix}_emails", "Email attempts by outcome",
                                     labels=["daemon", "outcome"])
        queued = GaugeMetricFamily(f"{prefix}_effects", "Effects by status", labels=["daemon",
                                                                                      "status"])
        for unit in self.daemon.units:
            block, counts = read_snapshot(unit.store.path)
            cursor.add_metric([unit.name], block if block is not None else -1)
            head.add_metric([unit.name], unit.runner.last_head)
            events.add_metric([unit.name], unit.runner.events_handled)
            reorgs.add_metric([unit.name], unit.runner.deep_reorgs)
            unprocessable.add_metric([unit.name], unit.runner.unprocessable)
            if unit.deliverer is not None:
                for outcome, count in unit.deliverer.outcomes.items():
                    emails.add_metric([unit.name, outcome], count)
                for status, count in counts.items():
                    queued.add_metric([unit.name, status], count)
        faults = CounterMetricFamily(f"{prefix}_rpc_faults", "RPC faults seen")
        faults.add_metric([], self.daemon.rpc_faults)
        yield from (cursor, head, events, reorgs, unprocessable, emails, queued, faults)


def health(daemon: Daemon) -> tuple[int, dict]:
    age = time.monotonic() - daemon.last_good_poll if daemon.last_good_poll else None
    healthy = age is not None and age < daemon.settings.node_down_after_s
    body = {"status": "ok" if healthy else "degraded", "last_good_poll_age_s": age,
            "daemons": {}}
    for unit in daemon.units:
        block, _ = read_snapshot(unit.store.path)
        body["daemons"][unit.name] = {
            "cursor_block": block,
            "lag_blocks": unit.runner.last_head - block if block is not None else None,
        }
    return (200 if healthy else 503), body


def serve_status(daemon: Daemon, port: int) -> HealthServer:
    """The daemon's /healthz (JSON: poll age, cursor and lag per daemon) and /metrics."""
    registry = CollectorRegistry()
    registry.register(DaemonCollector(daemon))
    return HealthServer(port, health=lambda: json_health(*health(daemon)),
                        metrics=registry_metrics(registry), one_scrape_at_a_time=True).start()
