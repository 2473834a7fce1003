"""ISO 8601 / RFC 3339 date-times (as Open mHealth and FHIR write them) to milliseconds since the
epoch, strictly: a date alone or a time without a zone is not a moment a reading can be put at,
unless the format itself says what a missing zone means (Open mHealth: UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# Date, "T", time with optional fraction, optional zone. Anything else (week dates, ordinal
# dates, a space instead of "T", partial times) is refused rather than guessed.
_DATE_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_epoch_ms(text: object, *, zone_required: bool) -> int | None:
    """Milliseconds since the epoch (fractions below a millisecond dropped), or None when `text`
    is not a full date-time (with a zone, if `zone_required`)."""
    if not isinstance(text, str):
        return None
    match = _DATE_TIME.match(text)
    if match is None:
        return None
    date, time, fraction, zone = match.groups()
    if zone is None and zone_required:
        return None
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    try:
        moment = datetime.fromisoformat(f"{date}T{time}.{micros}{_zone(zone)}")
    except ValueError:  # 2026-02-30, 25:00:00, +24:00 ...
        return None
    return (moment - _EPOCH) // _MS


def _zone(zone: str | None) -> str:
    if zone is None or zone == "Z":
        return "+00:00"
    return zone
