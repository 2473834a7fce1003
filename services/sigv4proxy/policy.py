"""What may pass: allow-listed methods, bounded eth_getLogs, raw transactions only to our
contracts on our chain. Every refusal happens before any upstream is called."""

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

_HEAD_TAGS = {"latest", "safe", "finalized", "pending"}


class Policy:
    def __init__(
        self,
        allowed_methods: list[str],
        targets: WriteTargets,
        max_log_block_range: int,
        head_block: Callable[[], int],
    ):
        self._allowed = frozenset(allowed_methods)
        self._targets = targets
        self._max_range = max_log_block_range
        self._head_block = head_block  # latest block number, for ranges given as tags

    def check(self, call: Call) -> None:
        if call.method not in self._allowed:
            raise Refusal(
                403,
                METHOD_NOT_FOUND,
                f"method {call.method[:64]!r} is not allowed",
                call.request_id,
            )
        if call.method == "eth_getLogs":
            self._check_log_range(call)
        elif call.method == "eth_sendRawTransaction":
            self._check_raw_transaction(call)

    def _check_log_range(self, call: Call) -> None:
        params = call.params
        if not (isinstance(params, list) and len(params) == 1 and isinstance(params[0], dict)):
            raise Refusal(
                400, INVALID_PARAMS, "eth_getLogs takes one filter object", call.request_id
            )
        flt = params[0]
        if "blockHash" in flt:
            if "fromBlock" in flt or "toBlock" in flt:
                raise Refusal(
                    400, INVALID_PARAMS, "blockHash excludes fromBlock/toBlock", call.request_id
                )
            return  # one block
        head = None
        ends = []
        for key in ("fromBlock", "toBlock"):
            value = flt.get(key, "latest")
            if value in _HEAD_TAGS:
                head = self._head_block() if head is None else head
                ends.append(head)
            elif value == "earliest":
                ends.append(0)
            elif isinstance(value, str) and value.startswith("0x"):
                try:
                    ends.append(int(value, 16))
                except ValueError:
                    raise Refusal(
                        400, INVALID_PARAMS, f"{key} is not a block number", call.request_id
                    ) from None
            else:
                raise Refusal(400, INVALID_PARAMS, f"{key} is not a block number", call.request_id)
        span = ends[1] - ends[0] + 1
        if span > self._max_range:
            raise Refusal(
                400,
                LIMIT_EXCEEDED,
                f"eth_getLogs range of {span} blocks exceeds {self._max_range}",
                call.request_id,
            )

    def _check_raw_transaction(self, call: Call) -> None:
        params = call.params
        if not (isinstance(params, list) and len(params) == 1):
            raise Refusal(
                400,
                INVALID_PARAMS,
                "eth_sendRawTransaction takes one raw transaction",
                call.request_id,
            )
        try:
            target = rawtx.decode(params[0])
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
