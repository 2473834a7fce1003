"""The gateway's one settings class (env prefix PULSELEDGER_GATEWAY_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.alerts import AlertSettings
from services.blobs import BlobsSettings
from services.chain.settings import ChainSettings
from services.notify import NotifySettings
from services.records import RecordsSettings

# The gateway's older chain settings, by the PULSELEDGER_CHAIN_* field each stands for.
CHAIN_NAMES = {"rpc_url": "rpc_url", "deployments": "deployments",
               "request_timeout_s": "rpc_timeout_s", "confirmations": "confirmations"}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_GATEWAY_")

    # Where it listens (loopback unless an operator says otherwise).
    host: str = "127.0.0.1"
    port: int = 8600
    # Capacity, one pool per kind of request so none can starve another (serving.py): reads and
    # everything else; sign-in (/auth/*); /healthz and /metrics. `QUEUE_DEPTH` requests may wait
    # for a thread of their pool; beyond that the answer is 503 at once.
    workers_threads: int = 16
    auth_threads: int = 4
    health_threads: int = 2
    queue_depth: int = 32
    per_client_in_flight: int = 8  # concurrent requests of one client address (live excluded)
    body_timeout_s: float = 10.0  # a request body must arrive within this (408 beyond)
    # Reverse proxies whose X-Forwarded-For is believed (exact addresses); nobody else's is.
    trusted_proxies: list[str] = Field(default_factory=list)

    # State shared by replicas: nonces spent, sessions signed out, budgets, live-stream leases.
    # Empty: this process's memory (one gateway process). redis://host:port/db: any number.
    shared_store_url: str = ""
    shared_store_prefix: str = "pulseledger:gateway:"
    shared_store_timeout_s: float = 2.0

    # Chain: PULSELEDGER_CHAIN_* (services/chain/settings.py), read through `chain()`. These four
    # older names still win when set, so deployments that set them keep working.
    rpc_url: str = "http://127.0.0.1:8545"
    deployments: Path = Path(".pulseledger/deployments.json")
    confirmations: int = 1  # blocks on top of the AccessLogged block before a record is served
    rpc_timeout_s: float = 10.0
    tx_timeout_s: float = 30.0  # wait for a gateway transaction (confirmDelivery, relay) to be mined
    log_lookback_blocks: int = 0  # 0 = search AccessLogged from the deployment block
    # Confirmed AccessLogged events remembered (final, so not looked up again per read), and
    # buyer views of the current head (buyer_views.py); bounded so no client can grow the
    # gateway's memory.
    read_cache_entries: int = Field(10_000, ge=1)
    # Bundles' plaintext cut at their subject markers, per record and registered version, used
    # only after every check of the read passed again (label_parts.py). 0 bytes or 0 s: none.
    label_parts_bytes: int = Field(128 * 2**20, ge=0)
    label_parts_s: float = Field(60.0, ge=0)
    # How long warm pieces are served on the store row's checks alone before a read fetches,
    # authenticates and decrypts the ciphertext again: the longest a ciphertext changed at rest
    # goes unnoticed by a record being read. 0: every read does.
    label_parts_recheck_s: float = Field(5.0, ge=0)
    # The gateway's own account: sends confirmDelivery and relays consent decisions. Never logged.
    gateway_key: SecretStr | None = None

    # Sign-in with Ethereum (EIP-4361).
    domain: str = "localhost:8600"  # what the message's domain line must say
    uri: str = "http://localhost:8600"  # what its URI line must say
    statement: str = "Sign in to PulseLedger."
    # HMAC key of session tokens and nonces. Empty = random per process (one process only: a
    # replicated gateway refuses to start without it). PREVIOUS: still accepted while rotating.
    session_secret: SecretStr = SecretStr("")
    session_secret_previous: SecretStr = SecretStr("")
    nonce_ttl_s: int = 300
    session_ttl_s: int = 3600
    # A device's pairing code may expire at most this far ahead (services/ingest/pairing.py): a
    # code that leaked (a photographed QR code, a resold device) is good no longer than this.
    pairing_code_longest_s: int = Field(30 * 86_400, ge=60)

    # Budgets per client address, per sliding window, counted across replicas (429 beyond).
    budget_window_s: int = 60
    nonces_per_client: int = 60  # GET /auth/nonce
    sign_ins_per_client: int = 60  # POST /auth/sign-in, failed ones too
    requests_per_client: int = 1200  # every other request but /healthz, /metrics, /openapi.json

    # Browser origins (the dapp) allowed to call with credentials; empty = same origin only.
    cors_origins: list[str] = Field(default_factory=list)

    # Input limits.
    max_body_bytes: int = 64 * 1024
    max_list_limit: int = 1000

    # Relay rate limits: at most N submissions per window, per patient and per client IP.
    relay_window_s: int = 60
    relay_per_patient: int = 5
    relay_per_ip: int = 20

    # Erasures a patient may ask for per hour (each pages through all their windows).
    erasures_per_patient: int = 6
    # Exports a patient may make per hour (each decrypts and seals up to a month of windows).
    exports_per_patient: int = 12

    # An address a patient names (their contacts, their doctor's) is mailed a confirmation link
    # first and gets alerts only once its mailbox confirmed (email_confirmations.py). The link
    # points at the dapp and works once, for `email_confirm_ttl_s`. Budgets: confirmation
    # emails one patient may cause per hour, one address may get per day (so nobody's mailbox
    # can be flooded through us), confirm attempts per client address per `budget_window_s`;
    # a waiting address is mailed again on a later save only after `email_resend_after_s`.
    dapp_url: str = "http://127.0.0.1:5173"
    email_confirm_ttl_s: int = Field(7 * 86_400, ge=60)
    email_resend_after_s: int = Field(600, ge=0)
    confirmations_per_owner: int = Field(10, ge=1)
    confirmations_per_address: int = Field(20, ge=1)  # a doctor is named by each patient
    confirms_per_client: int = Field(30, ge=1)
    # Confirmation emails sent at once (each its own SMTP connection or SDK client): more
    # requests wait for one of them, so a slow mail server holds up a request by its own send
    # and the ones queued ahead of it, not by every other one the gateway is serving; one that
    # waits `mail_wait_s` for a sender gets 503 (try again shortly).
    mail_senders: int = Field(4, ge=1, le=64)
    mail_wait_s: float = Field(30.0, gt=0)
    # The mail system the confirmation links go out by: PULSELEDGER_NOTIFY_*, as the
    # notification peers' (the outbox folder by default).
    notify: NotifySettings = Field(default_factory=NotifySettings)

    # Live view (Server-Sent Events): bounds per account and client address (across replicas)
    # and per replica; a heartbeat comment when idle; lifetimes, then the client reconnects.
    live_per_account: int = 3
    live_per_client: int = 8
    live_total: int = 64
    sse_heartbeat_s: float = 15.0
    sse_idle_s: float = 600.0
    sse_max_duration_s: float = 3600.0

    # Record store and blobs: their own settings classes, read from PULSELEDGER_RECORDS_* and
    # PULSELEDGER_BLOBS_* (one definition of each store's options for every service using it).
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    # The alert rule the notification peers email by (PULSELEDGER_ALERTS_*): one set for both.
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    blobs: BlobsSettings = Field(default_factory=BlobsSettings)

    def chain(self) -> ChainSettings:
        """The chain this gateway serves: PULSELEDGER_CHAIN_*, where the older
        PULSELEDGER_GATEWAY_RPC_URL, _DEPLOYMENTS, _RPC_TIMEOUT_S and _CONFIRMATIONS win if set."""
        return ChainSettings().for_service(self, CHAIN_NAMES)
