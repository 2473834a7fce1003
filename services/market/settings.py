"""Settings of the market custodian (env prefix `PULSELEDGER_MARKET_`)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MarketSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_MARKET_", extra="ignore")

    # The custodian's account: patients authorise it (authorizeCustodian) to register their
    # bundles. Its own account, not the storage peers' anchoring one, so the two never race for
    # one nonce sequence. Never logged. Empty: the custodian does not run.
    custodian_key: SecretStr | None = None
    # One bundle per patient, priced data class and period of this length (aligned to the epoch).
    period_s: int = 3600
    # A closed period is sealed once all its windows are anchored, or this long after it closed
    # with the windows anchored by then (a window that never anchors cannot hold a sale forever).
    max_anchor_wait_s: float = 120.0
    poll_interval_s: float = 5.0
    # /healthz and Prometheus /metrics on 127.0.0.1 (0: not served)
    status_port: int = 0
