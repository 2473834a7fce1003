"""Every knob of the proxy, read from `PULSELEDGER_PROXY_*` environment variables."""

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .params import KNOWN_METHODS

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


# RFC 9110 token characters: what http.client accepts as a header name.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the proxy sets itself or that would change how the request travels.
_RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)
_AWS_NAME = re.compile(r"[a-z0-9-]{1,64}")
_UPSTREAM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class UpstreamSettings(BaseModel):
    """One RPC endpoint. The URL is a secret: providers often put the API key in its path.

    Messages raised here never quote a value: they reach the operator's terminal and logs."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not be silently ignored

    url: SecretStr
    name: str = ""  # what logs, metrics and /healthz show instead of the URL
    auth: Literal["none", "header", "sigv4"] = "none"
    headers: dict[str, SecretStr] = Field(default_factory=dict)  # auth == "header"
    aws_region: str = "us-east-1"  # auth == "sigv4"
    aws_service: str = "managedblockchain"

    @field_validator("name")
    @classmethod
    def _name_shape(cls, name: str) -> str:
        if name and not _UPSTREAM_NAME.fullmatch(name):
            raise ValueError("name: 1 to 64 letters, digits, '.', '_' or '-'")
        return name

    @field_validator("aws_region", "aws_service")
    @classmethod
    def _aws_name_shape(cls, value: str) -> str:
        if not _AWS_NAME.fullmatch(value):
            raise ValueError("lower-case letters, digits and '-' only")
        return value

    @field_validator("headers")
    @classmethod
    def _header_shape(cls, headers: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
                raise ValueError("a header name is not a valid or allowed HTTP header name")
            secret = value.get_secret_value()
            if not secret or any(c in secret for c in "\r\n\0"):
                raise ValueError("a header value is empty or contains a line break")
        return headers

    @model_validator(mode="after")
    def _auth_consistent(self) -> "UpstreamSettings":
        if self.auth == "header" and not self.headers:
            raise ValueError('auth "header" needs "headers"')
        if self.auth != "header" and self.headers:
            raise ValueError('"headers" are only sent with auth "header"')
        return self

    def check_url(self, schemes: tuple[str, ...]) -> None:
        """Raises ValueError (naming the problem, never the URL) unless the URL can be dialled."""
        url = self.url.get_secret_value()
        if any(c.isspace() or not c.isprintable() for c in url):
            # urlsplit would silently drop tabs and line breaks: the URL dialled would not be the
            # one configured.
            raise ValueError("url contains whitespace or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError:
            raise ValueError("url is not a valid URL") from None
        if parts.scheme not in schemes:
            raise ValueError(f"url must start with {' or '.join(s + '://' for s in schemes)}")
        if not parts.hostname:
            raise ValueError("url has no host")
        if parts.username is not None or parts.password is not None:
            raise ValueError('url must not carry user:password@ (use auth "header")')
        if parts.fragment:
            raise ValueError("url must not have a #fragment")
        del port


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
    max_log_block_range: int = Field(2_000, ge=1)  # eth_getLogs: blocks per call, both ends
    # A "latest" bound is checked against a head at most this old (else eth_blockNumber is asked).
    head_cache_seconds: float = Field(2.0, ge=0)

    max_body_bytes: int = Field(128 * 1024, ge=256)
    max_response_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    batch_policy: Literal["allow", "refuse"] = "allow"
    max_batch_size: int = Field(20, ge=1)

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
    upstream_timeout_seconds: float = Field(10.0, gt=0)
    connect_timeout_seconds: float = Field(2.0, gt=0)
    # Every upstream's chain id and head are checked this often (and before its first use).
    health_interval_seconds: float = Field(5.0, gt=0)
    health_timeout_seconds: float = Field(2.0, gt=0)

    # WebSocket subscriptions (`pulseledger proxy-ws`, its own process): ws:// or wss:// upstreams,
    # tried in order at each client connection.
    ws_upstreams: list[UpstreamSettings] = Field(default_factory=list)
    ws_port: int = Field(8548, ge=0, le=65535)
    # Over WebSocket only subscriptions and these calls pass; everything else goes over HTTP.
    ws_allowed_methods: list[str] = Field(
        default_factory=lambda: [
            "eth_subscribe",
            "eth_unsubscribe",
            "eth_chainId",
            "eth_blockNumber",
        ]
    )
    ws_allowed_subscriptions: list[Literal["newHeads", "logs", "newPendingTransactions"]] = Field(
        default_factory=lambda: ["newHeads", "logs"]
    )
    ws_max_subscriptions: int = Field(32, ge=0)  # per client connection, live ones
    ws_max_in_flight: int = Field(64, ge=1)  # per client connection, calls not yet answered
    # Open connections per client (the same client as the rate limit's, TRUSTED_PROXY_HOPS
    # included): each holds an upstream socket. Beyond it the handshake is answered 429.
    ws_max_connections_per_client: int = Field(4, ge=1)

    host: str = "127.0.0.1"
    port: int = Field(8547, ge=0, le=65535)
    workers: int = Field(2, ge=1)
    threads: int = Field(8, ge=1)
    keepalive_seconds: int = Field(30, ge=0)

    @field_validator("allowed_contracts")
    @classmethod
    def _lowercase_addresses(cls, addresses: list[str]) -> list[str]:
        if any(not re.fullmatch(r"0x[0-9a-fA-F]{40}", a) for a in addresses):
            raise ValueError("every entry must be a 0x-prefixed 20-byte hex address")
        return [address.lower() for address in addresses]

    @field_validator("allowed_methods", "ws_allowed_methods")
    @classmethod
    def _methods_checkable(cls, methods: list[str]) -> list[str]:
        unknown = sorted(set(methods) - KNOWN_METHODS)
        if unknown:
            # Method names are not secrets: saying which ones helps.
            raise ValueError(
                f"no parameter check exists for {', '.join(m[:40] for m in unknown[:5])}; "
                f"allowed are: {', '.join(sorted(KNOWN_METHODS))}"
            )
        return methods

    @field_validator("cors_origins")
    @classmethod
    def _origin_shape(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin.rstrip("/"))
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError("every origin must be scheme://host[:port], nothing more")
        return origins

    @model_validator(mode="after")
    def _upstreams_dialable(self) -> "ProxySettings":
        for field, upstreams, schemes in (
            ("upstreams", self.upstreams, ("http", "https")),
            ("ws_upstreams", self.ws_upstreams, ("ws", "wss")),
        ):
            for i, upstream in enumerate(upstreams):
                try:
                    upstream.check_url(schemes)
                except ValueError as exc:
                    raise ValueError(f"{field}[{i}]: {exc}") from None
        for field, names in (
            ("upstreams", self.upstream_names()),
            ("ws_upstreams", self.ws_upstream_names()),
        ):
            if len(set(names)) != len(names):
                raise ValueError(f"{field}: names must be unique (they label metrics and logs)")
        return self

    def upstream_names(self) -> list[str]:
        return [u.name or f"upstream-{i}" for i, u in enumerate(self.upstreams)]

    def ws_upstream_names(self) -> list[str]:
        return [u.name or f"ws-upstream-{i}" for i, u in enumerate(self.ws_upstreams)]
