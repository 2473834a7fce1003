"""The gateway's one settings class (env prefix PULSELEDGER_GATEWAY_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.blobs import BlobsSettings
from services.records import RecordsSettings


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_GATEWAY_")

    # Where it listens (loopback unless an operator says otherwise).
    host: str = "127.0.0.1"
    port: int = 8600
    workers_threads: int = 16  # one process (nonces and rate limits live in memory), many threads

    # Chain.
    rpc_url: str = "http://127.0.0.1:8545"
    deployments: Path = Path(".pulseledger/deployments.json")
    confirmations: int = 1  # blocks on top of the AccessLogged block before a record is served
    rpc_timeout_s: float = 10.0
    tx_timeout_s: float = 30.0  # wait for a gateway transaction (confirmDelivery, relay) to be mined
    log_lookback_blocks: int = 0  # 0 = search AccessLogged from the deployment block
    # The gateway's own account: sends confirmDelivery and relays consent decisions. Never logged.
    gateway_key: SecretStr | None = None

    # Sign-in with Ethereum (EIP-4361).
    domain: str = "localhost:8600"  # what the message's domain line must say
    uri: str = "http://localhost:8600"  # what its URI line must say
    statement: str = "Sign in to PulseLedger."
    session_secret: SecretStr = SecretStr("")  # HMAC key for session tokens; empty = random per run
    nonce_ttl_s: int = 300
    session_ttl_s: int = 3600
    max_nonces: int = 100_000  # outstanding nonces kept; the oldest are dropped beyond this

    # Browser origins (the dapp) allowed to call with credentials; empty = same origin only.
    cors_origins: list[str] = Field(default_factory=list)

    # Input limits.
    max_body_bytes: int = 64 * 1024
    max_list_limit: int = 1000

    # Relay rate limits: at most N submissions per window, per patient and per client IP.
    relay_window_s: int = 60
    relay_per_patient: int = 5
    relay_per_ip: int = 20

    # Alerts shown to the owner and doctor: k irregular of a device's last n readable windows
    # (defaults equal the predict service's PULSELEDGER_PREDICT_ALERT_K / _N).
    alert_k: int = 5
    alert_n: int = 6

    # Live view (Server-Sent Events).
    sse_heartbeat_s: float = 15.0
    sse_max_duration_s: float = 3600.0

    # Record store and blobs: their own settings classes, read from PULSELEDGER_RECORDS_* and
    # PULSELEDGER_BLOBS_* (one definition of each store's options for every service using it).
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    blobs: BlobsSettings = Field(default_factory=BlobsSettings)
