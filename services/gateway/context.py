"""Everything a request handler needs, built once per app: chain, store, blobs, auth state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request

from services.gateway.errors import Forbidden, Unauthorized
from services.gateway.observability import Metrics
from services.gateway.ratelimit import RateLimiter
from services.gateway.sessions import SessionSigner
from services.gateway.settings import GatewaySettings
from services.gateway.siwe import NonceBook

SESSION_COOKIE = "pulseledger_session"


@dataclass
class Gateway:
    settings: GatewaySettings
    ledger: Any  # services.gateway.chain.Ledger
    store: Any  # services.records.RecordStore
    blobs: Any | None = None  # services.blobs BlobStore, for ipfs:// pointers
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.nonces = NonceBook(self.settings.nonce_ttl_s, self.settings.max_nonces)
        self.sessions = SessionSigner(self.settings.session_secret.get_secret_value().encode(),
                                      self.settings.session_ttl_s)
        self.relay_per_patient = RateLimiter(self.settings.relay_per_patient,
                                             self.settings.relay_window_s, "patient")
        self.relay_per_ip = RateLimiter(self.settings.relay_per_ip,
                                        self.settings.relay_window_s, "client address")


def gateway() -> Gateway:
    return current_app.extensions["pulseledger_gateway"]


def signed_in() -> str:
    """The address of the caller's session (Bearer token or the session cookie)."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else \
        request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise Unauthorized("sign in first: no session token (Authorization: Bearer ...)")
    return gateway().sessions.verify(token)


def owner_or_doctor(owner: str) -> str:
    """The caller may read `owner`'s data: they are the owner or the owner's linked doctor."""
    caller = signed_in()
    if caller == owner:
        return caller
    doctor = gateway().store.get_doctor(owner.lower())
    if doctor is not None and doctor.address.lower() == caller.lower():
        return caller
    raise Forbidden("only the patient and their linked doctor may read these records")
