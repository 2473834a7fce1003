"""Decode a signed raw transaction far enough to know where it goes and on which chain."""

from dataclasses import dataclass

import rlp
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes


@dataclass(frozen=True)
class TxTarget:
    to: str | None  # lower-case hex, None for a contract creation
    chain_id: int | None  # None: a pre-EIP-155 legacy transaction, valid on every chain
    tx_type: int


class UndecodableTransaction(ValueError):
    pass


# Typed envelopes decoded here; the policy accepts only these. Blob (3) and set-code (4)
# transactions carry payloads or delegations the proxy has no business relaying.
DECODED_TYPES = {0, 1, 2}


def decode(raw_hex: str) -> TxTarget:
    if not isinstance(raw_hex, str) or not raw_hex.startswith("0x"):
        raise UndecodableTransaction("raw transaction must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(raw_hex[2:])
    except ValueError:
        raise UndecodableTransaction("raw transaction is not hex") from None
    if not raw:
        raise UndecodableTransaction("raw transaction is empty")
    if raw[0] >= 0xC0:
        return _decode_legacy(raw)
    if raw[0] not in DECODED_TYPES:
        return TxTarget(None, None, raw[0])
    try:
        fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    except Exception:  # noqa: BLE001 -- eth_account raises many types for malformed envelopes
        raise UndecodableTransaction("malformed typed transaction") from None
    to = fields.get("to")
    return TxTarget(_address(to), int(fields["chainId"]), raw[0])


def _decode_legacy(raw: bytes) -> TxTarget:
    try:
        fields = rlp.decode(raw)
    except rlp.exceptions.DecodingError:
        raise UndecodableTransaction("malformed legacy transaction") from None
    if not isinstance(fields, list) or len(fields) != 9:
        raise UndecodableTransaction("malformed legacy transaction")
    nonce_gasprice_gas, to, v = fields[:3], fields[3], fields[6]
    if any(not isinstance(f, bytes) for f in [*nonce_gasprice_gas, to, v]):
        raise UndecodableTransaction("malformed legacy transaction")
    v_int = int.from_bytes(v, "big")
    chain_id = (v_int - 35) // 2 if v_int >= 35 else None  # EIP-155
    return TxTarget(_address(to), chain_id, 0)


def _address(to) -> str | None:
    if not to:
        return None
    if len(to) != 20:
        raise UndecodableTransaction("recipient is not a 20-byte address")
    return "0x" + bytes(to).hex()
