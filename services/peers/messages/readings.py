"""A reading as the peers pass it: the master's validated reading (services/ingest/reading.py
`to_json`), by device (`userId`) inside agg.ingest, without it inside a window."""

from __future__ import annotations

import math

from services.peers.messages.checks import (
    field,
    is_int,
    is_int_list,
    is_number,
    is_str,
    need,
    only_keys,
    optional,
)

# "att": the id of the master's attestation, which the receiving aggregator writes on the
# reading itself (on a retry the master sends the same objects again).
INGESTED = frozenset({"userId", "seq", "ts_ms", "heartrate", "rr", "signal", "att"})
IN_WINDOW = frozenset({"seq", "ts_ms", "heartrate", "rr", "signal"})


def check_ingested(reading: dict) -> None:
    only_keys(reading, INGESTED, "readings")
    field(reading, "userId", is_str, "the device id, a string")
    _check_common(reading, "readings")


def check_in_window(reading: dict) -> None:
    """A window's reading. A closed window's readings are scrubbed (heart rate and RR None)."""
    only_keys(reading, IN_WINDOW, "readings")
    _check_common(reading, "readings", scrubbed_allowed=True)


def _check_common(reading: dict, name: str, scrubbed_allowed: bool = False) -> None:
    field(reading, "seq", is_int, "an integer")
    field(reading, "ts_ms", is_int, "an integer (ms)")
    rate = field(reading, "heartrate", optional(is_number) if scrubbed_allowed else is_number,
                 "a number", None if scrubbed_allowed else ...)
    # Python's json reads NaN and Infinity: not heart rates
    need(rate is None or math.isfinite(rate), f"{name}: heartrate is not a finite number")
    field(reading, "rr", optional(is_int_list), "a list of integer ms", None)
    field(reading, "signal", optional(is_str), "a string", None)
    field(reading, "att", optional(is_str), "an attestation id", None)
