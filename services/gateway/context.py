"""Everything a request handler needs, built once per app: chain, store, blobs, shared state and
what lives in it (nonces, sessions, budgets, live streams), and who the caller is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request

from services.gateway.budgets import Budget, Budgets
from services.gateway.client_address import resolve_client
from services.gateway.errors import Forbidden, Unauthorized
from services.gateway.label_parts import LabelParts
from services.gateway.live_streams import LiveStreams
from services.gateway.nonces import NonceBook
from services.gateway.observability import Metrics
from services.gateway.sessions import Session, SessionSigner, agree_on_secrets
from services.gateway.settings import GatewaySettings
from services.gateway.shared_state import SharedState, open_shared_state
from services.notify import open_notifier
from services.notify.pool import NotifierPool

SESSION_COOKIE = "pulseledger_session"
CLIENT_KEY = "pulseledger.client"  # set by serving.py: the client address it already resolved


@dataclass(frozen=True)
class GatewayBudgets:
    nonces: Budget
    sign_ins: Budget
    requests: Budget
    relay_per_ip: Budget
    relay_per_patient: Budget
    erasures: Budget
    exports: Budget
    confirmations_per_owner: Budget
    confirmations_per_address: Budget
    confirms: Budget

    @classmethod
    def from_settings(cls, s: GatewaySettings) -> GatewayBudgets:
        return cls(
            nonces=Budget("nonce", s.nonces_per_client, s.budget_window_s,
                          "sign-in nonces for this client address"),
            sign_ins=Budget("sign-in", s.sign_ins_per_client, s.budget_window_s,
                            "sign-in attempts from this client address"),
            requests=Budget("requests", s.requests_per_client, s.budget_window_s,
                            "requests from this client address"),
            relay_per_ip=Budget("relay-ip", s.relay_per_ip, s.relay_window_s,
                                "relay requests from this client address"),
            relay_per_patient=Budget("relay-patient", s.relay_per_patient, s.relay_window_s,
                                     "relay requests for this patient"),
            erasures=Budget("erasure", s.erasures_per_patient, 3600,
                            "erasure requests for this patient"),
            exports=Budget("export", s.exports_per_patient, 3600,
                           "new exports for this patient"),
            confirmations_per_owner=Budget("confirm-mail-owner", s.confirmations_per_owner, 3600,
                                           "confirmation emails for this patient"),
            confirmations_per_address=Budget(
                "confirm-mail-address", s.confirmations_per_address, 86_400,
                "confirmation emails to this address"),
            confirms=Budget("confirm", s.confirms_per_client, s.budget_window_s,
                            "confirmation attempts from this client address"))


@dataclass
class Gateway:
    settings: GatewaySettings
    ledger: Any  # services.gateway.ledger.Ledger
    store: Any  # services.records.RecordStore
    blobs: Any | None = None  # services.blobs BlobStore, for ipfs:// pointers
    state: SharedState | None = None  # default: from settings.shared_store_url
    notifier: Any | None = None  # services.notify Notifier; default: settings.notify, when first used
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        s = self.settings
        if self.state is None:
            self.state = open_shared_state(s.shared_store_url, prefix=s.shared_store_prefix,
                                           timeout_s=s.shared_store_timeout_s)
        session_secrets = agree_on_secrets(s.session_secret.get_secret_value().encode(),
                                           s.session_secret_previous.get_secret_value().encode(),
                                           self.state)
        self.nonces = NonceBook(session_secrets, s.nonce_ttl_s, self.state)
        self.sessions = SessionSigner(session_secrets, s.session_ttl_s, self.state)
        self.budgets = Budgets(self.state, self.metrics)
        self.limits = GatewayBudgets.from_settings(s)
        self.trusted_proxies = frozenset(s.trusted_proxies)
        self.live = LiveStreams(s, self.state, self.store, self.sessions, self.metrics)
        self.label_parts = LabelParts(s.label_parts_bytes, s.label_parts_s,
                                      s.label_parts_recheck_s)
        # Confirmation links go out through up to mail_senders notifiers at once, each opened
        # when first needed (a gateway nobody onboards through never touches the mail system);
        # one handed in is used alone, one send at a time.
        self.mail = (NotifierPool.of(self.notifier, s.mail_wait_s) if self.notifier is not None
                     else NotifierPool(lambda: open_notifier(s.notify), s.mail_senders,
                                       s.mail_wait_s))

    def close(self) -> None:
        self.live.close()
        self.mail.close()


def gateway() -> Gateway:
    return current_app.extensions["pulseledger_gateway"]


def client_address() -> str:
    """The caller's address for budgets: what serving.py resolved, else the peer (or, behind a
    trusted proxy, the address it forwarded)."""
    resolved = request.environ.get(CLIENT_KEY)
    if resolved:
        return resolved
    return resolve_client(request.remote_addr, request.headers.get("X-Forwarded-For"),
                          gateway().trusted_proxies)


def session_token() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else \
        request.cookies.get(SESSION_COOKIE, "")


def signed_in_session() -> Session:
    """The caller's session (Bearer token or the session cookie), valid on every replica."""
    token = session_token()
    if not token:
        raise Unauthorized("sign in first: no session token (Authorization: Bearer ...)")
    return gateway().sessions.verify(token)


def signed_in() -> str:
    """The address of the caller's session."""
    return signed_in_session().address


def may_read(store: Any, owner: str, caller: str) -> bool:
    """The patient themself, or the doctor the patient linked."""
    if caller.lower() == owner.lower():
        return True
    doctor = store.get_doctor(owner.lower())
    return doctor is not None and doctor.address.lower() == caller.lower()


def owner_or_doctor(owner: str) -> str:
    """The caller may read `owner`'s data: they are the owner or the owner's linked doctor."""
    caller = signed_in()
    if not may_read(gateway().store, owner, caller):
        raise Forbidden("only the patient and their linked doctor may read these records")
    return caller
