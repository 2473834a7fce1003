"""Integrity failures cost one record and are never silent.

When a record does not match itself (ciphertext vs. its hash, its batch proof, its GCM tag, its
wrapped key) or its key is gone without an erasure, the store raises for that record only, tells
every alert sink (a structured warning on the `pulseledger.records` logger by default, counted in
`counts`), and, for a window, keeps a flag on it: lists show it flagged instead of failing, and a
flagged window is never anchored. A later read that finds it sound again (a key restored from
backup) clears the flag. Alerts carry record ids and what failed, never content or keys.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

TAMPERED = "tampered"  # does not match its hash, proof, tag or wrapped key: nothing served
KEY_MISSING = "key_missing"  # key gone, erasure journal silent: restore the key backup
REPAIRED = "repaired"  # a wrong stored hash of an authentic, not yet anchored ciphertext, fixed
FLAGS = (TAMPERED, KEY_MISSING)

log = logging.getLogger("pulseledger.records")


@dataclass(frozen=True)
class IntegrityAlert:
    record_id: str
    problem: str  # TAMPERED, KEY_MISSING or REPAIRED
    detail: str  # what did not match, in words (no content, no keys)
    table: str  # windows, bundles or dead_letters


AlertSink = Callable[[IntegrityAlert], None]


class IntegrityMonitor:
    """Counts and logs every alert, then hands it to the sinks a service added (metrics, pages)."""

    def __init__(self, sink: AlertSink | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._sinks: list[AlertSink] = [sink] if sink is not None else []

    def add_sink(self, sink: AlertSink) -> None:
        self._sinks.append(sink)

    def __call__(self, alert: IntegrityAlert) -> None:
        self.counts[alert.problem] += 1
        log.warning(
            "record integrity: %s %s %s: %s", alert.problem, alert.table, alert.record_id,
            alert.detail,
            extra={"fields": {"event": "record_integrity", "problem": alert.problem,
                              "table": alert.table, "record": alert.record_id}},
        )
        for sink in self._sinks:
            try:
                sink(alert)
            except Exception:  # a broken sink must not hide the failure itself
                log.exception("an integrity alert sink failed")
