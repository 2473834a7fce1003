from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    """Which mail system the notifications go to. The outbox folder needs nothing installed."""

    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_NOTIFY_")

    backend: Literal["outbox", "smtp", "ses"] = "outbox"
    sender: str = "PulseLedger <notifications@pulseledger.invalid>"
    # The gateway's public address (https://…). Set, each alert and relay email carries the
    # one-click List-Unsubscribe headers of RFC 8058 pointing at it, so a mail client's own
    # button stops them; unset, only the stop link in the body does (docs/alerts.md).
    gateway_url: str | None = None

    outbox_dir: Path = Path(".pulseledger/outbox")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_timeout_s: float = 10.0

    ses_region: str = "us-east-1"
    ses_endpoint_url: str | None = None  # e.g. a moto server in tests; None = the AWS endpoint
    ses_configuration_set: str | None = None
    ses_timeout_s: float = 10.0
