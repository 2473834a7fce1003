"""What an upstream answered, checked before any of it reaches a client.

Only an HTTP 200 carrying JSON-RPC responses to exactly the calls sent is ever passed on. Any
other status is a failed attempt whose body is dropped: providers' error pages quote requests
(AWS's "incomplete signature" 400 quotes the Authorization header, so the signature, the access
key id and the session token). A body containing any credential the request carried is dropped
as well, whatever its status. Error objects are rebuilt from their code, message and data only.
An `eth_chainId` answer for another chain marks the upstream as serving the wrong chain."""

import json
from dataclasses import dataclass
from typing import Any

from .params import quantity_value


class BadReply(Exception):
    """The upstream's answer cannot be passed on; `outcome` says why (a metrics label)."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


class WrongChain(BadReply):
    def __init__(self, seen: int | None):
        super().__init__("wrong_chain")
        self.seen = seen


_NONE: frozenset = frozenset()


@dataclass(frozen=True)
class Sent:
    """What was forwarded, for matching the answer: request ids in order, batch or not, and the
    ids of calls whose results the proxy reads (chain id, block number)."""

    ids: tuple
    batch: bool
    chain_id_ids: frozenset = frozenset()
    block_number_ids: frozenset = frozenset()

    @classmethod
    def of(cls, parsed: Any) -> "Sent":
        if isinstance(parsed, dict):  # the common case, without building sets
            ids = (parsed["id"],)
            method = parsed["method"]
            return cls(
                ids,
                False,
                frozenset(ids) if method == "eth_chainId" else _NONE,
                frozenset(ids) if method == "eth_blockNumber" else _NONE,
            )
        calls = parsed
        return cls(
            ids=tuple(c["id"] for c in calls),
            batch=isinstance(parsed, list),
            chain_id_ids=frozenset(c["id"] for c in calls if c["method"] == "eth_chainId"),
            block_number_ids=frozenset(c["id"] for c in calls if c["method"] == "eth_blockNumber"),
        )


@dataclass(frozen=True)
class Checked:
    body: bytes  # what the client gets
    head: int | None  # an eth_blockNumber result seen in it


_MEMBERS = frozenset({"jsonrpc", "id", "result", "error"})


def _same_id(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def sanitised(response: Any, expected_ids: tuple) -> tuple[dict, bool]:
    """(the response, whether it had to be rebuilt); raises BadReply if it is not a response to
    one of the ids sent."""
    if not isinstance(response, dict) or response.get("jsonrpc") != "2.0" or "id" not in response:
        raise BadReply("not_jsonrpc")
    if not any(_same_id(response["id"], i) for i in expected_ids):
        raise BadReply("wrong_id")
    if ("result" in response) == ("error" in response):
        raise BadReply("not_jsonrpc")
    if "result" in response:
        if response.keys() <= _MEMBERS:
            return response, False
        return {"jsonrpc": "2.0", "id": response["id"], "result": response["result"]}, True
    error = response["error"]
    if (
        not isinstance(error, dict)
        or not isinstance(error.get("code"), int)
        or isinstance(error.get("code"), bool)
        or not isinstance(error.get("message"), str)
    ):
        raise BadReply("not_jsonrpc")
    rebuilt = {"code": error["code"], "message": error["message"]}
    if "data" in error:
        rebuilt["data"] = error["data"]
    return {"jsonrpc": "2.0", "id": response["id"], "error": rebuilt}, True


def check_reply(
    status: int, body: bytes, sent: Sent, secrets: tuple[bytes, ...], chain_id: int
) -> Checked:
    if status != 200:
        raise BadReply(f"http_{status}")
    if any(secret in body for secret in secrets):
        raise BadReply("credential_in_reply")
    try:
        decoded = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadReply("not_json") from None
    if quotes_escaped_secret(body, decoded, secrets):
        raise BadReply("credential_in_reply")
    responses = decoded if sent.batch else [decoded]
    if sent.batch and (not isinstance(decoded, list) or len(decoded) != len(sent.ids)):
        raise BadReply("not_jsonrpc")
    rebuilt = False
    checked = []
    for response in responses:
        clean, changed = sanitised(response, sent.ids)
        checked.append(clean)
        rebuilt = rebuilt or changed
    if sent.batch and len({json.dumps(r["id"]) for r in checked}) != len(checked):
        raise BadReply("wrong_id")  # one id answered twice, so another not at all
    head = None
    for response in checked:
        if "result" not in response:
            continue
        if response["id"] in sent.chain_id_ids:
            seen = quantity_value(response["result"])
            if seen != chain_id:
                raise WrongChain(seen)
        if response["id"] in sent.block_number_ids:
            head = quantity_value(response["result"], 64)
    if rebuilt:
        body = json.dumps(checked if sent.batch else checked[0], separators=(",", ":")).encode()
    return Checked(body, head)


def secret_tokens(*values: str, min_length: int = 8) -> tuple[bytes, ...]:
    """The strings a reply must never contain, as bytes (also as JSON writers that escape `/`
    would write them); too short ones are left out, they would match by chance."""
    tokens = [v for v in values if v and len(v) >= min_length]
    tokens += [v.replace("/", "\\/") for v in tokens if "/" in v]
    return tuple(t.encode() for t in dict.fromkeys(tokens))


def quotes_escaped_secret(raw: bytes, decoded: Any, secrets: tuple[bytes, ...]) -> bool:
    """Whether a JSON string in `decoded` contains a secret that the raw bytes spelt with escapes
    (`\\u002B` for `+`, as .NET's JSON writer does by default; any character as `\\uXXXX`): the
    client's parser would decode it back. Only a body with a backslash can hide one, and hex
    results rarely have any, so the common answer costs one byte scan."""
    if not secrets or b"\\" not in raw:
        return False
    texts = [secret.decode("utf-8", "replace") for secret in secrets]
    stack = [decoded]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if any(text in value for text in texts):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
