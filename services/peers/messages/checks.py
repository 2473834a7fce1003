"""The small checks every message is made of. Each failure names the field and what was
expected, never the value received (it may be health data, and it is the sender's, not ours)."""

from __future__ import annotations

from typing import Any


class InvalidMessage(ValueError):
    """A request or reply that does not have its operation's shape."""


def need(condition: bool, what: str) -> None:
    if not condition:
        raise InvalidMessage(what)


def is_int(value: Any) -> bool:
    return type(value) is int  # not bool, not float


def is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def is_str(value: Any) -> bool:
    return type(value) is str


def optional(check):
    return lambda value: value is None or check(value)


def is_int_list(value: Any) -> bool:
    return type(value) is list and all(type(x) is int for x in value)


def field(body: dict, name: str, check, what: str, default: Any = ...) -> Any:
    """body[name] if it passes `check`; `default` when absent (required when not given)."""
    if name not in body:
        need(default is not ..., f"{name}: missing ({what})")
        return default
    value = body[name]
    need(check(value), f"{name}: expected {what}")
    return value


def rows(value: Any, checks: tuple, name: str, min_len: int | None = None) -> list:
    """A list of rows (lists), each at least min_len (default: all) columns long, column i
    passing checks[i]."""
    need(type(value) is list, f"{name}: expected a list of rows")
    shortest = len(checks) if min_len is None else min_len
    for row in value:
        need(type(row) is list and shortest <= len(row) <= len(checks),
             f"{name}: a row has {shortest}-{len(checks)} columns")
        for check, cell in zip(checks, row):
            need(check(cell), f"{name}: a column has the wrong type")
    return value


def dicts(value: Any, check_one, name: str) -> list[dict]:
    need(type(value) is list, f"{name}: expected a list")
    for item in value:
        need(type(item) is dict, f"{name}: expected objects")
        check_one(item)
    return value


def only_keys(item: dict, allowed: frozenset, name: str) -> None:
    need(item.keys() <= allowed, f"{name}: unexpected field (allowed: {', '.join(sorted(allowed))})")


def is_receipt(value: Any) -> bool:
    """The outer shape of a replication receipt (services/peers/receipts.py); its content is
    the master's to verify."""
    return (type(value) is dict and type(value.get("aggregator")) is str
            and type(value.get("credential")) is dict and type(value.get("body")) is dict
            and type(value.get("sig")) is str)
