"""Parameter checks for every method the proxy can forward, after the Ethereum execution-apis
schemas (github.com/ethereum/execution-apis): what passes here is what the spec allows, so a node
that parses more loosely (`int(s, 16)` takes `0x7_cf` and spaces; some decoders match object keys
case-insensitively) never sees anything the proxy did not check the way the spec reads it.

- Quantities: `0x`, lower-case hex, no leading zeros (`0x0` for zero), within their bit size.
- Data, addresses and hashes: `0x` and an even number of hex digits, of the exact length where
  the type has one (either case: addresses carry EIP-55 checksums).
- Objects: exactly the known keys, case-sensitive; anything else is refused.
- Params by position only, each method with its number of required and optional entries.

A method without an entry here cannot be allow-listed (settings.py refuses it at start)."""

import re
from collections.abc import Callable
from typing import Any

BLOCK_TAGS = frozenset({"latest", "earliest", "pending", "safe", "finalized"})
HEAD_TAGS = frozenset({"latest", "pending", "safe", "finalized"})

# re.fullmatch with explicit ASCII classes: `\d` and `$` would admit other digits and a newline.
_HEX_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_QUANTITY = re.compile(r"0x(?:0|[1-9a-f][0-9a-f]*)")
_SUBSCRIPTION_ID = re.compile(r"0x[0-9a-fA-F]{1,64}")


class ParamError(ValueError):
    """A parameter that is not what the method takes; `where` names it (`params[0].toBlock`)."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


Check = Callable[[Any, str], None]  # (value, where) -> None or ParamError


def quantity_value(value: Any, bits: int = 256) -> int | None:
    """The integer a spec-conforming quantity encodes, or None if `value` is not one."""
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value) or len(value) - 2 > bits // 4:
        return None
    return int(value, 16)


def quantity(bits: int = 256) -> Check:
    def check(value: Any, where: str) -> None:
        if quantity_value(value, bits) is None:
            raise ParamError(
                where, f"not a hex quantity (0x, lower case, no leading zeros, {bits} bits)"
            )

    return check


def data(size: int | None = None) -> Check:
    """Hex bytes; `size` fixes the length in bytes."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, str) or not _HEX_DATA.fullmatch(value):
            raise ParamError(where, "not 0x-prefixed hex bytes")
        if size is not None and len(value) != 2 + 2 * size:
            raise ParamError(where, f"not {size} bytes")

    return check


address = data(20)
hash32 = data(32)
uint64 = quantity(64)
uint256 = quantity(256)


def boolean(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise ParamError(where, "not true or false")


def null_or(inner: Check) -> Check:
    def check(value: Any, where: str) -> None:
        if value is not None:
            inner(value, where)

    return check


def one_of(*choices: Check, problem: str) -> Check:
    def check(value: Any, where: str) -> None:
        for choice in choices:
            try:
                choice(value, where)
                return
            except ParamError:
                continue
        raise ParamError(where, problem)

    return check


def array(item: Check, max_items: int | None = None) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise ParamError(where, "not an array")
        if max_items is not None and len(value) > max_items:
            raise ParamError(where, f"more than {max_items} entries")
        for i, entry in enumerate(value):
            item(entry, f"{where}[{i}]")

    return check


def obj(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """An object with only these keys (exact, case-sensitive) and at least the required ones."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ParamError(where, "not an object")
        for key in value:
            if key not in fields:
                raise ParamError(where, f"unknown key {key[:40]!r}")
        for key in required:
            if key not in value:
                raise ParamError(where, f"missing {key!r}")
        for key, entry in value.items():
            fields[key](entry, f"{where}.{key}")

    return check


def mapping(key: Check, entry: Check) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ParamError(where, "not an object")
        for k, v in value.items():
            key(k, f"{where} key")
            entry(v, f"{where}.{k[:42]}")

    return check


def tag_or_number(value: Any, where: str) -> None:
    if isinstance(value, str) and value in BLOCK_TAGS:
        return
    if quantity_value(value, 64) is None:
        raise ParamError(where, "not a block number or tag")


# EIP-1898: a block by number or tag, by hash (bare, or an object that may require it canonical).
block_id = one_of(
    tag_or_number,
    hash32,
    obj({"blockNumber": uint64}, required=("blockNumber",)),
    obj({"blockHash": hash32, "requireCanonical": boolean}, required=("blockHash",)),
    problem="not a block number, tag, hash or EIP-1898 block object",
)

_access_list = array(obj({"address": address, "storageKeys": array(hash32)}, ("address",)))
_authorization = obj(
    {
        "address": address,
        "chainId": uint256,
        "nonce": uint64,
        "yParity": uint64,
        "v": uint64,
        "r": uint256,
        "s": uint256,
    },
    required=("address", "chainId", "nonce"),
)

# geth's TransactionArgs, which every client library's call/estimate objects are a subset of.
transaction_call = obj(
    {
        "from": address,
        "to": null_or(address),
        "gas": uint64,
        "gasPrice": uint256,
        "maxFeePerGas": uint256,
        "maxPriorityFeePerGas": uint256,
        "maxFeePerBlobGas": uint256,
        "value": uint256,
        "nonce": uint64,
        "data": data(),
        "input": data(),
        "accessList": _access_list,
        "chainId": uint256,
        "type": quantity(8),
        "blobVersionedHashes": array(hash32),
        "blobs": array(data()),
        "authorizationList": array(_authorization),
    }
)

state_override = mapping(
    address,
    obj(
        {
            "balance": uint256,
            "nonce": uint64,
            "code": data(),
            "state": mapping(hash32, hash32),
            "stateDiff": mapping(hash32, hash32),
            "movePrecompileToAddress": address,
        }
    ),
)

_withdrawal = obj({"index": uint64, "validatorIndex": uint64, "address": address, "amount": uint64})
block_override = obj(
    {
        "number": uint64,
        "difficulty": uint256,
        "time": uint64,
        "gasLimit": uint64,
        "feeRecipient": address,
        "coinbase": address,  # older geth name of feeRecipient
        "prevRandao": hash32,
        "random": hash32,  # older geth name of prevRandao
        "baseFeePerGas": uint256,
        "baseFee": uint256,  # older geth name of baseFeePerGas
        "blobBaseFee": uint256,
        "beaconRoot": hash32,
        "withdrawals": array(_withdrawal),
    }
)

# Topics: up to four positions, each null (any), one hash, or a list of alternatives.
_topic_position = null_or(
    one_of(hash32, array(null_or(hash32)), problem="not null, a topic hash or a list of them")
)
topics = array(_topic_position, max_items=4)
addresses = one_of(address, array(address), problem="not an address or a list of addresses")

log_filter = obj(
    {
        "fromBlock": tag_or_number,
        "toBlock": tag_or_number,
        "address": addresses,
        "topics": topics,
        "blockHash": hash32,
    }
)
subscription_log_filter = obj({"address": addresses, "topics": topics})


def _percentiles(value: Any, where: str) -> None:
    if not isinstance(value, list) or len(value) > 100:
        raise ParamError(where, "not an array of at most 100 percentiles")
    previous = 0.0
    for i, p in enumerate(value):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not previous <= p <= 100:
            raise ParamError(f"{where}[{i}]", "not a percentile in increasing order, 0 to 100")
        previous = p


def subscription_id(value: Any, where: str) -> None:
    if not isinstance(value, str) or not _SUBSCRIPTION_ID.fullmatch(value):
        raise ParamError(where, "not a subscription id")


def _subscribe(params: list) -> None:
    if not params or params[0] not in ("newHeads", "logs", "newPendingTransactions", "syncing"):
        raise ParamError("params[0]", "not a subscription type")
    kind = params[0]
    if kind == "logs":
        _positional(params, (_ignore, subscription_log_filter), ())
    elif kind == "newPendingTransactions":
        _positional(params, (_ignore,), (boolean,))
    else:
        _positional(params, (_ignore,), ())


def _ignore(value: Any, where: str) -> None:
    return None


def _positional(params: list, required: tuple[Check, ...], optional: tuple[Check, ...]) -> None:
    if len(params) < len(required):
        raise ParamError("params", f"expects at least {len(required)} entries")
    if len(params) > len(required) + len(optional):
        raise ParamError("params", f"expects at most {len(required) + len(optional)} entries")
    for i, (value, check) in enumerate(zip(params, required + optional, strict=False)):
        check(value, f"params[{i}]")


def positional(*required: Check, optional: tuple[Check, ...] = ()) -> Callable[[list], None]:
    def check(params: list) -> None:
        _positional(params, required, optional)

    return check


_none = positional()

# Method -> check of its params array. eth_sendRawTransaction's one entry is decoded further by
# rawtx.py (recipient, chain id, type).
METHOD_PARAMS: dict[str, Callable[[list], None]] = {
    "eth_chainId": _none,
    "net_version": _none,
    "net_listening": _none,
    "web3_clientVersion": _none,
    "eth_syncing": _none,
    "eth_blockNumber": _none,
    "eth_gasPrice": _none,
    "eth_maxPriorityFeePerGas": _none,
    "eth_blobBaseFee": _none,
    "eth_getBlockByNumber": positional(tag_or_number, boolean),
    "eth_getBlockByHash": positional(hash32, boolean),
    "eth_getBlockReceipts": positional(block_id),
    "eth_getBlockTransactionCountByNumber": positional(tag_or_number),
    "eth_getBlockTransactionCountByHash": positional(hash32),
    "eth_getTransactionByBlockNumberAndIndex": positional(tag_or_number, uint64),
    "eth_getTransactionByBlockHashAndIndex": positional(hash32, uint64),
    "eth_call": positional(
        transaction_call, optional=(block_id, null_or(state_override), block_override)
    ),
    "eth_estimateGas": positional(transaction_call, optional=(block_id, state_override)),
    "eth_feeHistory": positional(uint64, tag_or_number, optional=(_percentiles,)),
    "eth_getBalance": positional(address, optional=(block_id,)),
    "eth_getCode": positional(address, optional=(block_id,)),
    "eth_getTransactionCount": positional(address, optional=(block_id,)),
    "eth_getStorageAt": positional(
        address,
        one_of(uint256, hash32, problem="not a storage slot"),
        optional=(block_id,),
    ),
    "eth_getProof": positional(address, array(hash32), block_id),
    "eth_getTransactionByHash": positional(hash32),
    "eth_getTransactionReceipt": positional(hash32),
    "eth_getLogs": positional(log_filter),
    "eth_sendRawTransaction": positional(data()),
    "eth_subscribe": _subscribe,
    "eth_unsubscribe": positional(subscription_id),
}
KNOWN_METHODS = frozenset(METHOD_PARAMS)


def check_params(method: str, params: Any) -> None:
    """Raises ParamError unless `params` is what `method` takes (by position)."""
    if not isinstance(params, list):
        raise ParamError("params", "must be an array (by-name params are not used by Ethereum)")
    METHOD_PARAMS[method](params)
