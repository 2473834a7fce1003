"""What may pass: allow-listed methods with spec-conforming params (params.py), bounded
eth_getLogs, raw transactions only to our contracts on our chain. Every refusal happens before
any upstream is called.

eth_getLogs ranges given as tags are resolved here, against a verified upstream, and the filter
that is forwarded carries the resolved numbers: the upstream cannot read `latest` as a higher
block than the one the bound was checked against (a lagging proxy head, another upstream)."""

from collections.abc import Callable

from . import rawtx
from .contracts import WriteTargets
from .jsonrpc import (
    INVALID_PARAMS,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    TRANSACTION_REJECTED,
    Call,
    Refusal,
)
from .params import HEAD_TAGS, ParamError, check_params, quantity_value

# (head tag, fresh) -> block number, from a verified upstream; fresh: not from the head cache.
ResolveTag = Callable[[str, bool], int]


class Policy:
    def __init__(self, allowed_methods: list[str], targets: WriteTargets, max_log_block_range: int):
        self._allowed = frozenset(allowed_methods)
        self._targets = targets
        self._max_range = max_log_block_range

    def check(self, call: Call, resolve_tag: ResolveTag) -> None:
        """Returns when the call may be forwarded (eth_getLogs filters rewritten in place with
        numbers for tags); raises Refusal otherwise."""
        if call.method not in self._allowed:
            raise Refusal(
                403,
                METHOD_NOT_FOUND,
                f"method {call.method[:64]!r} is not allowed",
                call.request_id,
            )
        try:
            check_params(call.method, call.params)
        except ParamError as exc:
            raise Refusal(
                400, INVALID_PARAMS, f"{call.method}: {str(exc)[:200]}", call.request_id
            ) from None
        if call.method == "eth_getLogs":
            self._bound_log_range(call, resolve_tag)
        elif call.method == "eth_sendRawTransaction":
            self._check_raw_transaction(call)

    def _bound_log_range(self, call: Call, resolve_tag: ResolveTag) -> None:
        flt = call.params[0]
        if "blockHash" in flt:
            if "fromBlock" in flt or "toBlock" in flt:
                raise Refusal(
                    400, INVALID_PARAMS, "blockHash excludes fromBlock/toBlock", call.request_id
                )
            return  # one block
        resolved: dict[str, int] = {}
        ends = {}
        for key in ("fromBlock", "toBlock"):
            value = flt.get(key, "latest")  # the spec's default for both ends
            if value == "earliest":
                ends[key] = 0
            elif value in HEAD_TAGS:
                if value not in resolved:
                    resolved[value] = resolve_tag(value, False)
                ends[key] = resolved[value]
            else:
                ends[key] = quantity_value(value, 64)  # params.py has checked its form
        to_tag = flt.get("toBlock", "latest")
        if ends["toBlock"] < ends["fromBlock"] and to_tag in HEAD_TAGS:
            # The client has seen a newer block than the cached head (polling from its last
            # block + 1): ask the upstream rather than send it an inverted range.
            ends["toBlock"] = resolve_tag(to_tag, True)
        span = ends["toBlock"] - ends["fromBlock"] + 1
        if span > self._max_range:
            raise Refusal(
                400,
                LIMIT_EXCEEDED,
                f"eth_getLogs range of {span} blocks exceeds {self._max_range}",
                call.request_id,
            )
        flt["fromBlock"], flt["toBlock"] = hex(ends["fromBlock"]), hex(ends["toBlock"])

    def _check_raw_transaction(self, call: Call) -> None:
        try:
            target = rawtx.decode(call.params[0])
        except rawtx.UndecodableTransaction as exc:
            raise Refusal(400, INVALID_PARAMS, str(exc), call.request_id) from None
        if target.tx_type not in rawtx.DECODED_TYPES:
            raise Refusal(
                403,
                TRANSACTION_REJECTED,
                f"transaction type {target.tx_type} is not accepted",
                call.request_id,
            )
        if target.chain_id != self._targets.chain_id:
            raise Refusal(
                403,
                TRANSACTION_REJECTED,
                f"transaction is not for chain {self._targets.chain_id}",
                call.request_id,
            )
        if target.to is None or target.to not in self._targets.addresses:
            raise Refusal(
                403,
                TRANSACTION_REJECTED,
                "transaction recipient is not an allowed contract",
                call.request_id,
            )
