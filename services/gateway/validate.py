"""Input checks that turn malformed ids and bodies into 400s with a clear message."""

from __future__ import annotations

import re
from typing import Any

from eth_utils import to_checksum_address
from flask import request

from services.gateway.errors import BadRequest

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}")
UINT256_MAX = 2**256 - 1
MAX_EMAILS = 10


def address(value: Any, name: str = "address") -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise BadRequest(f"{name} must be a 0x-prefixed 20-byte hex address")
    return to_checksum_address(value)


def bytes32(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not _BYTES32.fullmatch(value):
        raise BadRequest(f"{name} must be 0x followed by 64 hex digits")
    return bytes.fromhex(value[2:])


def hex_bytes(value: Any, name: str, *, lengths: tuple[int, ...]) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x(?:[0-9a-fA-F]{2})+", value):
        raise BadRequest(f"{name} must be 0x-prefixed hex")
    raw = bytes.fromhex(value[2:])
    if len(raw) not in lengths:
        raise BadRequest(f"{name} must be {' or '.join(map(str, lengths))} bytes")
    return raw


def uint(value: Any, name: str, *, maximum: int = UINT256_MAX, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,78}", value):
        value = int(value)
    if not isinstance(value, int) or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer between {minimum} and {maximum}")
    return value


def query_uint(name: str, *, default: int | None = None, maximum: int = UINT256_MAX) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise BadRequest(f"query parameter {name} is required")
        return default
    return uint(raw, name, maximum=maximum)


def emails(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_EMAILS:
        raise BadRequest(f"emails must be a list of at most {MAX_EMAILS} addresses")
    for item in value:
        email(item, "each email")
    return list(value)


def email(value: Any, name: str = "email") -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise BadRequest(f"{name} must be an email address")
    return value


def string(value: Any, name: str, *, max_length: int, pattern: str | None = None) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise BadRequest(f"{name} must be a string of 1 to {max_length} characters")
    if pattern and not re.fullmatch(pattern, value):
        raise BadRequest(f"{name} is malformed")
    return value


def time_zone(value: Any, name: str = "time_zone") -> str:
    """An IANA time zone name (Europe/Berlin, UTC)."""
    from services.records import InvalidInput
    from services.records.validation import time_zone as known_zone

    try:
        return known_zone(value)
    except InvalidInput as error:
        raise BadRequest(f"{name}: {error}") from None


def json_body() -> dict[str, Any]:
    """The body as a JSON object; anything else is a 4xx with the reason (json_input.py)."""
    body = request.get_json()
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body
