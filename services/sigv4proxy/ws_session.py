"""The bookkeeping of one WebSocket client session, without any I/O (ws.py does the sockets).

The proxy owns the upstream's id space: every call the client makes is sent upstream under a
fresh id of the proxy's, and the answer goes back under the client's own id. So the proxy knows
which answer belongs to which call, and therefore:

- which subscriptions exist: an id enters the set only when the upstream answers an
  `eth_subscribe` with it, and leaves it only when the upstream confirms its `eth_unsubscribe`;
  the cap counts live subscriptions plus those being made, and an `eth_unsubscribe` for an id
  not in the set is refused here (never forwarded, never lowering any count);
- which notifications to relay: only those of subscriptions in the set;
- its own calls (`eth_chainId` checks) are answered to it, never to the client;
- an answer that is not JSON-RPC, answers no pending call, or quotes a credential of the
  handshake never reaches the client as it is."""

import json
from dataclasses import dataclass
from typing import Any

from .jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, LIMIT_EXCEEDED, Call, Refusal, error_body
from .params import quantity_value
from .replies import BadReply, quotes_escaped_secret, sanitised


@dataclass(frozen=True)
class _Pending:
    client_id: Any  # None for the proxy's own chain checks
    method: str
    subscription: str | None = None  # the id an eth_unsubscribe names


@dataclass(frozen=True)
class ToClient:
    text: str


@dataclass(frozen=True)
class ChainAnswer:
    proxy_id: int
    seen: int | None  # the chain id answered; None: an error or no chain id at all
    ok: bool  # the upstream answered the configured chain id


@dataclass(frozen=True)
class Dropped:
    reason: str  # a metrics label


class WsSession:
    def __init__(
        self, chain_id: int, max_subscriptions: int, max_in_flight: int, secrets: tuple[bytes, ...]
    ):
        self._chain_id = chain_id
        self._max_subscriptions = max_subscriptions
        self._max_in_flight = max_in_flight
        self._secrets = secrets
        self._next_id = 0
        self._pending: dict[int, _Pending] = {}
        self._subscribing = 0
        self._unsubscribing: set[str] = set()
        self.subscriptions: set[str] = set()

    def _send(self, pending: _Pending, params: list) -> tuple[int, str]:
        self._next_id += 1
        self._pending[self._next_id] = pending
        message = {
            "jsonrpc": "2.0",
            "id": self._next_id,
            "method": pending.method,
            "params": params,
        }
        return self._next_id, json.dumps(message, separators=(",", ":"))

    def outgoing(self, call: Call) -> str:
        """The message to send upstream for a checked client call; raises Refusal when this
        session may not make it now."""
        if len(self._pending) >= self._max_in_flight:
            raise Refusal(429, LIMIT_EXCEEDED, "too many calls awaiting an answer", call.request_id)
        subscription = None
        if call.method == "eth_subscribe":
            if len(self.subscriptions) + self._subscribing >= self._max_subscriptions:
                raise Refusal(429, LIMIT_EXCEEDED, "too many subscriptions", call.request_id)
            self._subscribing += 1
        elif call.method == "eth_unsubscribe":
            subscription = call.params[0]
            if subscription not in self.subscriptions or subscription in self._unsubscribing:
                raise Refusal(
                    400, INVALID_PARAMS, "no such subscription on this connection", call.request_id
                )
            self._unsubscribing.add(subscription)
        return self._send(_Pending(call.request_id, call.method, subscription), call.params)[1]

    def chain_check(self) -> tuple[int, str]:
        """(proxy id, message) of an eth_chainId call of the proxy's own."""
        return self._send(_Pending(None, "eth_chainId"), [])

    def incoming(self, message: str | bytes) -> ToClient | ChainAnswer | Dropped:
        raw = message.encode() if isinstance(message, str) else message
        leaked = any(secret in raw for secret in self._secrets)
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return Dropped("not_json")
        leaked = leaked or quotes_escaped_secret(raw, decoded, self._secrets)
        if not isinstance(decoded, dict):
            return Dropped("not_jsonrpc")
        if "id" not in decoded:
            return self._notification(decoded, raw, leaked)
        pending = self._pending.pop(decoded["id"], None) if _is_int(decoded["id"]) else None
        if pending is None:
            return Dropped("unknown_id")
        return self._answer(decoded, decoded["id"], pending, leaked)

    def _notification(self, decoded: dict, raw: bytes, leaked: bool) -> ToClient | Dropped:
        params = decoded.get("params")
        if (
            decoded.get("jsonrpc") != "2.0"
            or decoded.get("method") != "eth_subscription"
            or not isinstance(params, dict)
        ):
            return Dropped("not_jsonrpc")
        subscription = params.get("subscription")
        if not isinstance(subscription, str) or subscription not in self.subscriptions:
            return Dropped("unknown_subscription")
        if leaked:
            return Dropped("credential_in_reply")
        return ToClient(raw.decode("utf-8"))

    def _answer(
        self, decoded: dict, proxy_id: int, pending: _Pending, leaked: bool
    ) -> ToClient | ChainAnswer:
        if pending.method == "eth_subscribe":
            self._subscribing -= 1
        if pending.subscription is not None:
            self._unsubscribing.discard(pending.subscription)
        try:
            if leaked:
                raise BadReply("credential_in_reply")
            clean, _ = sanitised(decoded, (proxy_id,))
        except BadReply:
            if pending.client_id is None:
                return ChainAnswer(proxy_id, None, False)
            withheld = error_body(INTERNAL_ERROR, "upstream answer withheld", pending.client_id)
            return ToClient(json.dumps(withheld))
        result = clean.get("result")
        if pending.method == "eth_chainId" and "result" in clean:
            seen = quantity_value(result)
            ok = seen == self._chain_id
            if pending.client_id is None or not ok:
                return ChainAnswer(proxy_id, seen, ok)
        if pending.client_id is None:
            return ChainAnswer(proxy_id, None, False)  # an error answer to the proxy's own check
        if pending.method == "eth_subscribe" and isinstance(result, str):
            self.subscriptions.add(result)
        elif pending.method == "eth_unsubscribe" and result is True:
            self.subscriptions.discard(pending.subscription)
        clean["id"] = pending.client_id
        return ToClient(json.dumps(clean, separators=(",", ":")))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
