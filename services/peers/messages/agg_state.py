"""agg.merge and agg.sync: aggregators exchange window state (services/peers/window_store.py's
`export` / `rows_for` / closing marks): rows of readings, windows, devices and attestations.

agg.merge replies with how many readings it took and, when the primary asks (`want_receipt`:
readings it replicates on ingest), the callee's signed replication receipt over what it now holds
(services/peers/receipts.py), which the primary passes on to the master; agg.sync (a primary's
two-way sync) replies with the callee's own state for the same devices, in the same shape."""

from __future__ import annotations

from dataclasses import dataclass

from services.peers.messages.checks import (
    field,
    is_int,
    is_number,
    is_receipt,
    is_str,
    need,
    optional,
    rows,
)

MERGE, SYNC = "agg.merge", "agg.sync"
STATES = (0, 1, 2)  # open, closing, closed
# device, seq, window_start, ts, hr (None once closed), rr text, digest, att, signal
_READING = (is_str, is_int, is_int, is_int, optional(is_number), optional(is_str), is_str,
            optional(is_str), optional(is_str))
_WINDOW = (is_str, is_int, lambda s: s in STATES)
_DEVICE = (is_str, is_int, is_int)
_ATTESTATION = (is_str, is_str, is_str)  # id, device, document (JSON text)


@dataclass(frozen=True, slots=True)
class WindowState:
    readings: list[list]
    windows: list[list]
    devices: list[list]
    attestations: list[list]
    want_receipt: bool = False  # readings replicated on ingest: sign a receipt for them

    @classmethod
    def from_wire(cls, body: dict) -> WindowState:
        listed = lambda v: type(v) is list
        return cls(rows(field(body, "readings", listed, "a list", []), _READING, "readings", 7),
                   rows(field(body, "windows", listed, "a list", []), _WINDOW, "windows"),
                   rows(field(body, "devices", listed, "a list", []), _DEVICE, "devices"),
                   rows(field(body, "attestations", listed, "a list", []), _ATTESTATION,
                        "attestations"),
                   field(body, "want_receipt", lambda v: type(v) is bool, "true or false", False))

    @classmethod
    def of(cls, state: dict, want_receipt: bool = False) -> WindowState:
        """Our own window store's state (export, rows_for, closing marks): not checked."""
        return cls(state.get("readings", []), state.get("windows", []),
                   state.get("devices", []), state.get("attestations", []), want_receipt)

    def to_wire(self) -> dict:
        wire = {"readings": self.readings, "windows": self.windows, "devices": self.devices,
                "attestations": self.attestations}
        if self.want_receipt:
            wire["want_receipt"] = True
        return wire


@dataclass(frozen=True, slots=True)
class MergeReply:
    merged: int
    receipt: dict | None = None  # services/peers/receipts.py, when asked for

    @classmethod
    def from_wire(cls, body: dict) -> MergeReply:
        merged = field(body, "merged", is_int, "an integer")
        need(merged >= 0, "merged: expected a count")
        receipt = field(body, "receipt", lambda v: v is None or is_receipt(v),
                        "a receipt document", None)
        return cls(merged, receipt)

    def to_wire(self) -> dict:
        return {"merged": self.merged, **({"receipt": self.receipt} if self.receipt else {})}
