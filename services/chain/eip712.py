"""EIP-712 consent decisions: what a patient signs so anyone can relay it (`decideBySig`). The one
definition of the typed data: the gateway checks relayed signatures with it, the demo and tests sign
with it, and tools/gen_chain_typed_data.py writes the dapp's copy from it
(frontend/src/contracts/consentTypedData.ts)."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_typed_data

from services.chain.enums import ConsentDecision as Decision

DOMAIN_NAME = "PulseLedger"
DOMAIN_VERSION = "1"
PRIMARY_TYPE = "ConsentDecision"
# The contract's typehash: ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)
CONSENT_DECISION_FIELDS = (
    {"name": "requestId", "type": "uint256"},
    {"name": "decision", "type": "uint8"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
)
DOMAIN_FIELDS = (
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
)
__all__ = ["Decision", "consent_decision_typed_data", "sign_consent_decision"]


def consent_decision_typed_data(*, chain_id: int, verifying_contract: str, request_id: int,
                                decision: Decision, nonce: int, deadline: int) -> dict:
    return {
        "types": {"EIP712Domain": [dict(f) for f in DOMAIN_FIELDS],
                  PRIMARY_TYPE: [dict(f) for f in CONSENT_DECISION_FIELDS]},
        "primaryType": PRIMARY_TYPE,
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
                   "verifyingContract": verifying_contract},
        "message": {"requestId": request_id, "decision": int(decision), "nonce": nonce,
                    "deadline": deadline},
    }


def sign_consent_decision(private_key: str | bytes, **fields) -> bytes:
    """65-byte r‖s‖v signature over the typed data."""
    signable = encode_typed_data(full_message=consent_decision_typed_data(**fields))
    return bytes(Account.sign_message(signable, private_key).signature)
