"""Readings an aggregator refuses on ingest (late: their window already closing or closed;
replay: the seq seen with other content) are dead-lettered, never dropped. The aggregator does
it, and so does the master it reports them to — one letter either way, since the record store
keeps one letter per (kind, payload, reason) and both write the same payload and reason here —
so an aggregator that claims "late" and writes nothing cannot lose a reading. A late reading is
also kept, and once stored as a part of its window its letter is retired
(roles/aggregation_unsent.py)."""

from __future__ import annotations

from services.ingest.reading import canonical

REASONS = {"late": "late", "replay": "replay: seq seen with other content"}


def dead_letter_rejected(store, reading: dict, outcome: str) -> None:
    """The reading as the master validated it ("att", the aggregator's own note, left out)."""
    body = {k: v for k, v in reading.items() if k != "att"}
    store.dead_letter("reading", canonical(body), REASONS[outcome])


def retire_late_letter(store, device: str, kept: dict) -> bool:
    """Retire the "late" letter of a reading stored after all, as `unsent` gives it back
    ({seq, ts_ms, heartrate, rr, signal}): its payload rebuilt as the master's reading was
    (Reading.to_json: rr only when there are some; canonical writes 72.0 and 72 alike)."""
    body = {"userId": device, "heartrate": kept["heartrate"], "ts_ms": kept["ts_ms"],
            "seq": kept["seq"]}
    if kept.get("signal") is not None:
        body["signal"] = kept["signal"]
    if kept.get("rr"):
        body["rr"] = kept["rr"]
    return store.retire_dead_letter("reading", canonical(body), REASONS["late"])
