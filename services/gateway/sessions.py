"""Session tokens after sign-in: HMAC-SHA256 over (address, expiry, id), checked on any replica.

Format: base64url(json {"sub", "exp", "sid"}) + "." + base64url(hmac). A token is valid on every
replica that holds the same secret; signing out puts its `sid` in the shared state until the token
would have expired, so a revoked token is refused everywhere. Rotation: new tokens are signed with
the first secret, tokens under any listed secret are accepted until they expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from eth_utils import is_checksum_address

from services.gateway.errors import Unauthorized
from services.gateway.shared_state import SharedState

MAX_TOKEN_CHARS = 512
_FINGERPRINT_KEY = "session-secret-fingerprint"


class SecretMisconfigured(ValueError):
    """The gateway must not start: replicas could not agree on sessions."""


@dataclass(frozen=True)
class Session:
    address: str
    sid: str
    expires_at: int


class SessionSigner:
    def __init__(self, session_secrets: list[bytes], ttl_s: int, state: SharedState):
        self._secrets = session_secrets
        self._ttl_s = ttl_s
        self._state = state

    def issue(self, address: str) -> tuple[str, int]:
        expires = int(time.time()) + self._ttl_s
        payload = _b64(json.dumps({"sub": address, "exp": expires, "sid": secrets.token_hex(8)},
                                  separators=(",", ":")).encode())
        return f"{payload}.{_b64(_mac(self._secrets[0], payload))}", expires

    def verify(self, token: str) -> Session:
        """The signed-in session, or Unauthorized."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS \
                or token.count(".") != 1:
            raise Unauthorized("session token missing or malformed: sign in again")
        payload, mac = token.split(".")
        try:
            given = _unb64(mac)
            claims = json.loads(_unb64(payload))
        except ValueError:
            raise Unauthorized("session token malformed: sign in again") from None
        if not any(hmac.compare_digest(given, _mac(secret, payload)) for secret in self._secrets):
            raise Unauthorized("session token signature invalid: sign in again")
        if not isinstance(claims, dict) or not _is_checksummed(claims.get("sub", "")) \
                or not isinstance(claims.get("sid"), str):
            raise Unauthorized("session token malformed: sign in again")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise Unauthorized("session expired: sign in again")
        if self._state.is_claimed(f"revoked:{claims['sid']}"):
            raise Unauthorized("signed out: sign in again")
        return Session(claims["sub"], claims["sid"], claims["exp"])

    def revoke(self, session: Session) -> None:
        """Refuse this token from now on, on every replica (until it would have expired)."""
        remaining = session.expires_at - time.time()
        if remaining > 0:
            self._state.claim(f"revoked:{session.sid}", remaining + 1)

    def is_revoked(self, session: Session) -> bool:
        return self._state.is_claimed(f"revoked:{session.sid}")


@lru_cache(maxsize=4096)  # pure, and a keccak (~10 µs) on every signed-in request otherwise
def _checksummed(address: str) -> bool:
    return is_checksum_address(address)


def _is_checksummed(address: object) -> bool:
    return isinstance(address, str) and _checksummed(address)


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, payload.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def agree_on_secrets(current: bytes, previous: bytes, state: SharedState) -> list[bytes]:
    """The secrets this process signs (first) and accepts with.

    One process may sign with a random secret (sessions end with it). Replicas sharing a store
    must sign with one explicit secret: without it each would refuse the others' tokens. The
    store keeps a fingerprint of the secret in use; a replica whose secret is neither that one
    nor, while rotating, its successor refuses to start instead of failing sign-ins at random.
    """
    if not current:
        if state.shared or previous:
            raise SecretMisconfigured(
                "PULSELEDGER_GATEWAY_SESSION_SECRET must be set (the same on every replica) "
                "when the gateway shares state with replicas")
        return [secrets.token_bytes(32)]
    accepted = [current] + ([previous] if previous else [])
    if state.shared:
        stored = state.get(_FINGERPRINT_KEY)
        mine = [_fingerprint(secret) for secret in accepted]
        if stored is not None and stored not in mine:
            raise SecretMisconfigured(
                "this replica's SESSION_SECRET differs from the one the other replicas use "
                "(to rotate, set the new secret and the old one as SESSION_SECRET_PREVIOUS)")
        if stored != mine[0]:
            state.put(_FINGERPRINT_KEY, mine[0])
    return accepted


def _fingerprint(secret: bytes) -> str:
    return hmac.new(secret, b"pulseledger-gateway-secret-fingerprint", hashlib.sha256).hexdigest()[:32]
