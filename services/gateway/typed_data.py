"""EIP-712 onboarding requests a wallet signs (off-chain), and recovering any typed signature.

Onboarding domain: {name: "PulseLedger Gateway", version: "1", chainId} (no verifying contract:
the gateway checks these). Each message carries a gateway-issued single-use nonce (GET
/auth/nonce), so a captured request cannot be replayed. Consent decisions (on-chain) are typed in
services/chain/eip712.py, their one home.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from services.gateway.errors import BadRequest, Unauthorized

ONBOARDING_TYPES: dict[str, list[dict[str, str]]] = {
    "RegisterDevice": [
        {"name": "owner", "type": "address"},
        {"name": "deviceId", "type": "string"},
        {"name": "publicKey", "type": "bytes32"},
        {"name": "nonce", "type": "string"},
    ],
    "UnpairDevice": [
        {"name": "owner", "type": "address"},
        {"name": "deviceId", "type": "string"},
        {"name": "nonce", "type": "string"},
    ],
    "SetContacts": [
        {"name": "owner", "type": "address"},
        {"name": "emails", "type": "string[]"},
        {"name": "nonce", "type": "string"},
    ],
    "SetProfile": [
        {"name": "owner", "type": "address"},
        {"name": "name", "type": "string"},
        {"name": "timeZone", "type": "string"},
        {"name": "nonce", "type": "string"},
    ],
    "LinkDoctor": [
        {"name": "owner", "type": "address"},
        {"name": "doctor", "type": "address"},
        {"name": "doctorEmail", "type": "string"},
        {"name": "nonce", "type": "string"},
    ],
}
_DOMAIN_TYPE = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}]


def onboarding_typed_data(primary_type: str, message: dict[str, Any], chain_id: int) -> dict:
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, primary_type: ONBOARDING_TYPES[primary_type]},
        "primaryType": primary_type,
        "domain": {"name": "PulseLedger Gateway", "version": "1", "chainId": chain_id},
        "message": message,
    }


def recover_typed(typed_data: dict, signature: bytes) -> str:
    if len(signature) != 65:
        raise BadRequest("signature must be 65 bytes")
    try:
        return Account.recover_message(encode_typed_data(full_message=typed_data),
                                       signature=signature)
    except Exception:  # noqa: BLE001 - malformed r/s/v or typed-data values raise several types
        raise Unauthorized("signature does not recover to an address") from None


def sign_typed(typed_data: dict, private_key: bytes | str) -> bytes:
    """What a wallet does (eth_signTypedData_v4); used by tests, the benchmark and scripts."""
    return Account.sign_message(encode_typed_data(full_message=typed_data),
                                private_key=private_key).signature
