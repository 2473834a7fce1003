"""Session tokens after sign-in: HMAC-SHA256 over (address, expiry, id), checked without state.

Format: base64url(json {"sub", "exp", "sid"}) + "." + base64url(hmac). The secret comes from
settings (empty = a random secret per process, so sessions end with the process).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time

from eth_utils import is_checksum_address

from services.gateway.errors import Unauthorized

MAX_TOKEN_CHARS = 512


class SessionSigner:
    def __init__(self, secret: bytes, ttl_s: int):
        self._secret = secret or secrets.token_bytes(32)
        self._ttl_s = ttl_s

    def issue(self, address: str) -> tuple[str, int]:
        expires = int(time.time()) + self._ttl_s
        payload = _b64(json.dumps({"sub": address, "exp": expires, "sid": secrets.token_hex(8)},
                                  separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(payload))}", expires

    def verify(self, token: str) -> str:
        """The signed-in address, or Unauthorized."""
        if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise Unauthorized("session token missing or malformed: sign in again")
        payload, mac = token.split(".")
        try:
            given = _unb64(mac)
            claims = json.loads(_unb64(payload))
        except ValueError:
            raise Unauthorized("session token malformed: sign in again") from None
        if not hmac.compare_digest(given, self._mac(payload)):
            raise Unauthorized("session token signature invalid: sign in again")
        if not isinstance(claims, dict) or not is_checksum_address(claims.get("sub", "")):
            raise Unauthorized("session token malformed: sign in again")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise Unauthorized("session expired: sign in again")
        return claims["sub"]

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
