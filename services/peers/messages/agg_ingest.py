"""agg.ingest: a master hands an aggregator validated readings and its attestations.

The reply is the acknowledgement: counts by outcome (accepted, duplicate, replay, late);
`not_primary`, the (device, seq) of readings the aggregator is not its user's primary for,
which the master keeps and routes again; `rejected`, [index in the request, outcome] of each
reading it dead-lettered (late or replay), which the master dead-letters too (by index: a replay
has the (device, seq) of the reading it would replace); and `receipts`, its
replicas' signed receipts for the rest (services/peers/receipts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as field_of

from services.peers.messages.checks import dicts, field, is_int, is_receipt, is_str, need, rows
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


REJECTED = ("late", "replay")  # outcomes an aggregator dead-letters instead of keeping
_LISTS = ("not_primary", "rejected", "receipts")  # beside the counts, which are the other keys


@dataclass(frozen=True, slots=True)
class IngestReply:
    counts: dict[str, int]
    not_primary: list[list]  # [device, seq]
    rejected: list[list] = field_of(default_factory=list)  # [request index, one of REJECTED]
    receipts: list[dict] = field_of(default_factory=list)

    @classmethod
    def from_wire(cls, body: dict) -> IngestReply:
        listed = lambda v: type(v) is list
        not_primary = rows(field(body, "not_primary", listed, "a list", []),
                           (is_str, is_int), "not_primary")
        rejected = rows(field(body, "rejected", listed, "a list", []),
                        (lambda v: is_int(v) and v >= 0, lambda v: v in REJECTED), "rejected")
        receipts = field(body, "receipts", lambda v: listed(v) and all(map(is_receipt, v)),
                         "a list of receipt documents", [])
        counts = {k: v for k, v in body.items() if k not in _LISTS}
        need(all(is_int(v) for v in counts.values()), "counts: expected integers")
        return cls(counts, not_primary, rejected, receipts)

    def to_wire(self) -> dict:
        return {**self.counts, **{name: getattr(self, name) for name in _LISTS
                                  if getattr(self, name)}}
