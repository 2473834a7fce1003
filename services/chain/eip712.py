"""EIP-712 consent decisions: what a patient signs so anyone can relay it (`decideBySig`)."""

from __future__ import annotations

from enum import IntEnum

from eth_account import Account
from eth_account.messages import encode_typed_data

DOMAIN_NAME = "PulseLedger"
DOMAIN_VERSION = "1"


class Decision(IntEnum):
    APPROVE = 1
    DENY = 2
    REVOKE = 3


def consent_decision_typed_data(*, chain_id: int, verifying_contract: str, request_id: int,
                                decision: Decision, nonce: int, deadline: int) -> dict:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "ConsentDecision": [
                {"name": "requestId", "type": "uint256"},
                {"name": "decision", "type": "uint8"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "ConsentDecision",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
                   "verifyingContract": verifying_contract},
        "message": {"requestId": request_id, "decision": int(decision), "nonce": nonce,
                    "deadline": deadline},
    }


def sign_consent_decision(private_key: str | bytes, **fields) -> bytes:
    """65-byte r‖s‖v signature over the typed data."""
    signable = encode_typed_data(full_message=consent_decision_typed_data(**fields))
    return bytes(Account.sign_message(signable, private_key).signature)
