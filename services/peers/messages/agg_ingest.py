"""agg.ingest: a master hands an aggregator validated readings and its attestations.

The reply is the acknowledgement: counts by outcome (accepted, duplicate, replay, late) and
`not_primary`, the (device, seq) of readings the aggregator is not its user's primary for,
which the master keeps and routes again."""

from __future__ import annotations

from dataclasses import dataclass

from services.peers.messages.checks import dicts, field, is_int, is_str, need, rows
from services.peers.messages.readings import check_ingested

OP = "agg.ingest"


@dataclass(frozen=True, slots=True)
class IngestRequest:
    readings: list[dict]
    attestations: dict[str, dict]  # device -> the master's attestation document

    @classmethod
    def from_wire(cls, body: dict) -> IngestRequest:
        readings = dicts(field(body, "readings", lambda v: type(v) is list, "a list"),
                         check_ingested, "readings")
        attestations = field(body, "attestations", lambda v: type(v) is dict,
                             "an object of device -> attestation", {})
        need(all(type(k) is str and type(v) is dict for k, v in attestations.items()),
             "attestations: expected device -> attestation object")
        return cls(readings, attestations)

    def to_wire(self) -> dict:
        return {"readings": self.readings, "attestations": self.attestations}


@dataclass(frozen=True, slots=True)
class IngestReply:
    counts: dict[str, int]
    not_primary: list[list]  # [device, seq]

    @classmethod
    def from_wire(cls, body: dict) -> IngestReply:
        not_primary = rows(field(body, "not_primary", lambda v: type(v) is list, "a list", []),
                           (is_str, is_int), "not_primary")
        counts = {k: v for k, v in body.items() if k != "not_primary"}
        need(all(is_int(v) for v in counts.values()), "counts: expected integers")
        return cls(counts, not_primary)

    def to_wire(self) -> dict:
        return {**self.counts, **({"not_primary": self.not_primary} if self.not_primary else {})}
