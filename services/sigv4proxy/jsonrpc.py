"""Strict JSON-RPC 2.0 parsing and the error bodies the proxy answers with."""

import json
from dataclasses import dataclass
from typing import Any

# JSON-RPC 2.0 and EIP-1474 codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_UNAVAILABLE = -32002
TRANSACTION_REJECTED = -32003
LIMIT_EXCEEDED = -32005


@dataclass
class Refusal(Exception):
    """A request the proxy answers itself, without calling any upstream."""

    http_status: int
    code: int
    message: str
    request_id: Any = None

    def body(self) -> dict:
        return error_body(self.code, self.message, self.request_id)


def error_body(code: int, message: str, request_id: Any = None) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    # Two parsers may pick different values for a repeated key: what we check must be what is sent.
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # 1e400 parses to inf, which would be re-encoded as `Infinity`: not JSON any more.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def parse(body: bytes) -> Any:
    """The decoded body; refuses anything but UTF-8 (json.loads would guess UTF-16 or UTF-32 from
    the bytes, and a byte-order mark is refused too), malformed JSON, duplicate keys, NaN/Infinity
    and numbers beyond a double."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, PARSE_ERROR, "parse error: body is not UTF-8") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_refuse_duplicate_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except _DuplicateKey as exc:
        raise Refusal(400, INVALID_REQUEST, f"duplicate key {str(exc)[:64]!r}") from None
    except (ValueError, RecursionError):  # JSONDecodeError (a BOM too) is a ValueError
        raise Refusal(400, PARSE_ERROR, "parse error: body is not valid JSON") from None


@dataclass(frozen=True)
class Call:
    method: str
    params: list | dict
    request_id: Any


def validate_call(obj: Any) -> Call:
    """One well-formed request object with an id (notifications are not forwarded)."""
    if not isinstance(obj, dict):
        raise Refusal(400, INVALID_REQUEST, "request must be a JSON object")
    request_id = obj.get("id")
    if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
        raise Refusal(400, INVALID_REQUEST, "id must be a string or an integer")
    if obj.get("jsonrpc") != "2.0":
        raise Refusal(400, INVALID_REQUEST, 'jsonrpc must be "2.0"', request_id)
    method = obj.get("method")
    if not isinstance(method, str):
        raise Refusal(400, INVALID_REQUEST, "method must be a string", request_id)
    params = obj.get("params", [])
    if not isinstance(params, (list, dict)):
        raise Refusal(400, INVALID_REQUEST, "params must be an array or an object", request_id)
    extra = set(obj) - {"jsonrpc", "id", "method", "params"}
    if extra:
        raise Refusal(400, INVALID_REQUEST, "unexpected member in request", request_id)
    return Call(method, params, request_id)
