"""Every knob of the proxy, read from `PULSELEDGER_PROXY_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Reads a dapp or a service needs, none of them stateful on the node (filters and subscriptions
# would break under failover, so they are left out: viem falls back to eth_getLogs polling).
DEFAULT_ALLOWED_METHODS = (
    "eth_chainId",
    "net_version",
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_call",
    "eth_estimateGas",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_getBalance",
    "eth_getCode",
    "eth_getTransactionCount",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getLogs",
    # The only write; further restricted to our contracts on our chain id (policy.py).
    "eth_sendRawTransaction",
)


class UpstreamSettings(BaseModel):
    """One RPC endpoint. The URL is a secret: providers often put the API key in its path."""

    url: SecretStr
    name: str = ""  # what logs, metrics and /healthz show instead of the URL
    auth: Literal["none", "header", "sigv4"] = "none"
    headers: dict[str, SecretStr] = Field(default_factory=dict)  # auth == "header"
    aws_region: str = "us-east-1"  # auth == "sigv4"
    aws_service: str = "managedblockchain"


class ProxySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_PROXY_", extra="ignore")

    # Tried in this order; the first healthy one serves. JSON list in the environment.
    upstreams: list[UpstreamSettings] = Field(
        default_factory=lambda: [UpstreamSettings(url="http://127.0.0.1:8545", name="local")],
        min_length=1,
    )
    # The chain the proxy serves; taken from the deployments file when unset.
    chain_id: int | None = None
    # Addresses eth_sendRawTransaction may target, in addition to those in the deployments file.
    allowed_contracts: list[str] = Field(default_factory=list)
    deployments: Path | None = None  # the file `ape run deploy` writes
    allowed_methods: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_METHODS))
    max_log_block_range: int = 2_000  # eth_getLogs: blocks per call, both ends included
    # A "latest" bound is checked against a head at most this old (else eth_blockNumber is asked).
    head_cache_seconds: float = 2.0

    max_body_bytes: int = 128 * 1024
    max_response_bytes: int = 16 * 1024 * 1024
    batch_policy: Literal["allow", "refuse"] = "allow"
    max_batch_size: int = 20

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"]
    )

    rate_limit_per_second: float = Field(50.0, gt=0)  # per client, sustained
    rate_limit_burst: int = Field(100, ge=1)  # per client, bucket size
    rate_limit_slots: int = Field(
        65_536, ge=1
    )  # shared table size; colliding clients share a bucket
    trusted_proxy_hops: int = 0  # >0: client = that many hops from the right of X-Forwarded-For

    # One client request, all failover attempts included, answers within this deadline (504 after).
    upstream_timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 2.0
    health_interval_seconds: float = 5.0
    health_timeout_seconds: float = 2.0

    # WebSocket subscriptions (`pulseledger proxy-ws`, its own process): ws:// or wss:// upstreams,
    # tried in order at each client connection.
    ws_upstreams: list[UpstreamSettings] = Field(default_factory=list)
    ws_port: int = 8548
    # Over WebSocket only subscriptions and these calls pass; everything else goes over HTTP.
    ws_allowed_methods: list[str] = Field(
        default_factory=lambda: [
            "eth_subscribe",
            "eth_unsubscribe",
            "eth_chainId",
            "eth_blockNumber",
        ]
    )
    ws_allowed_subscriptions: list[str] = Field(default_factory=lambda: ["newHeads", "logs"])
    ws_max_subscriptions: int = 32  # per client connection

    host: str = "127.0.0.1"
    port: int = 8547
    workers: int = 2
    threads: int = 8
    keepalive_seconds: int = 30

    @field_validator("allowed_contracts")
    @classmethod
    def _lowercase_addresses(cls, addresses: list[str]) -> list[str]:
        return [address.lower() for address in addresses]

    def upstream_names(self) -> list[str]:
        return [u.name or f"upstream-{i}" for i, u in enumerate(self.upstreams)]

    def ws_upstream_names(self) -> list[str]:
        return [u.name or f"ws-upstream-{i}" for i, u in enumerate(self.ws_upstreams)]
