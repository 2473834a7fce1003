"""Request bodies as JSON, hardened once for every endpoint (every `request.get_json()` goes
through here): whatever arrives, the answer is a 4xx with a message, never a 500.

- nesting deeper than MAX_DEPTH (the decoder's own recursion is caught too: deeply nested input
  used to escape as an uncaught RecursionError);
- integers longer than 78 digits (uint256 has 78), NaN / Infinity, floats that overflow to inf;
- duplicate keys (two parsers could read two different bodies from one text);
- bytes that are not UTF-8, a wrong Content-Type.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from flask import Request
from flask.json.provider import DefaultJSONProvider

from services.gateway.errors import GatewayError

MAX_DEPTH = 32
MAX_INT_DIGITS = 78


class UnsupportedMediaType(GatewayError):
    status, code = 415, "unsupported_media_type"


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, parse_int=_int, parse_float=_float, parse_constant=_constant,
                               object_pairs_hook=_object, **kwargs)
        except RecursionError:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
        _check_depth(value)
        return value


class GatewayRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> NoReturn:
        if e is None:
            raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
        reason = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        if isinstance(e, UnicodeDecodeError):
            reason = "not UTF-8"
        raise GatewayError(f"the body is not valid JSON: {reason}")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is too large")
    return value


def _constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object repeats a key")
    return result


def _check_depth(value: Any) -> None:
    """Iteratively, so the check itself cannot recurse too deeply."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
