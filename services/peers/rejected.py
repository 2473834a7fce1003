"""Readings an aggregator refuses on ingest (late: their window already closing or closed;
replay: the seq seen with other content) are dead-lettered, never dropped. The aggregator does
it, and so does the master it reports them to — one letter either way, since the record store
keeps one letter per (kind, payload, reason) and both write the same payload and reason here —
so an aggregator that claims "late" and writes nothing cannot lose a reading."""

from __future__ import annotations

from services.ingest.reading import canonical

REASONS = {"late": "late", "replay": "replay: seq seen with other content"}


def dead_letter_rejected(store, reading: dict, outcome: str) -> None:
    """The reading as the master validated it ("att", the aggregator's own note, left out)."""
    body = {k: v for k, v in reading.items() if k != "att"}
    store.dead_letter("reading", canonical(body), REASONS[outcome])
