"""The nonce book: single-use, expiring nonces for sign-in (EIP-4361) and signed onboarding.

A nonce carries its own expiry and a MAC under the gateway's secret, so issuing one stores
nothing: a flood of `GET /auth/nonce` cannot fill a table and push out honest clients' pending
nonces (there is no table of pending nonces to fill). Only a *spent* nonce is stored — in the
shared state, until it would have expired anyway — which is what makes it single-use across every
replica. Spending needs a valid signature over a nonce we issued, so the stored set grows only
with real sign-ins, which are budgeted per client.

    nonce = hex( expiry (5 bytes, unix seconds) ‖ random (8 bytes) ‖ HMAC-SHA256(key, both)[:12] )

50 hex digits: alphanumeric as EIP-4361 requires, within the onboarding forms' 64 characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from services.gateway.errors import Unauthorized
from services.gateway.shared_state import SharedState

_SHAPE = re.compile(r"[0-9a-f]{50}")
_LABEL = b"pulseledger-gateway-nonce-v1"


class NonceBook:
    def __init__(self, session_secrets: list[bytes], ttl_s: int, state: SharedState):
        """`session_secrets[0]` signs new nonces; nonces under any of them are accepted (rotation)."""
        self._keys = [hmac.new(secret, _LABEL, hashlib.sha256).digest() for secret in session_secrets]
        self._ttl_s = ttl_s
        self._state = state

    def issue(self) -> str:
        body = int(time.time() + self._ttl_s).to_bytes(5, "big") + secrets.token_bytes(8)
        return (body + self._mac(self._keys[0], body)).hex()

    def consume(self, nonce: str) -> None:
        """Accept a nonce once; a forged, expired or already used nonce is refused (401)."""
        if not isinstance(nonce, str) or not _SHAPE.fullmatch(nonce):
            raise Unauthorized("nonce unknown or already used: ask for a new one")
        raw = bytes.fromhex(nonce)
        body, mac = raw[:13], raw[13:]
        if not any(hmac.compare_digest(mac, self._mac(key, body)) for key in self._keys):
            raise Unauthorized("nonce unknown or already used: ask for a new one")
        remaining = int.from_bytes(body[:5], "big") - time.time()
        if remaining <= 0:
            raise Unauthorized("nonce expired: ask for a new one")
        if not self._state.claim(f"nonce:{nonce}", remaining + 1):
            raise Unauthorized("nonce unknown or already used: ask for a new one")

    @staticmethod
    def _mac(key: bytes, body: bytes) -> bytes:
        return hmac.new(key, body, hashlib.sha256).digest()[:12]
