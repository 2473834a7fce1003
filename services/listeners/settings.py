from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class ListenerSettings(BaseSettings):
    """How the listener daemons follow the chain and deliver their effects."""

    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_LISTENERS_")

    # Durable state (cursor, handled events, pending emails, dead letters, incidents): one SQLite
    # file per daemon in this folder.
    state_dir: Path = Path(".pulseledger/listeners")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"

    # Following the chain
    # A block is acted on once this many blocks are built on top of it. When unset here,
    # PULSELEDGER_CHAIN_CONFIRMATIONS applies if set (services/chain/settings.py), else 3.
    confirmations: int = 3
    start_block: int | None = None  # default: the deployment block in the deployments file
    poll_interval_s: float = 0.25
    max_blocks_per_query: int = 2000
    reorg_window_blocks: int = 256  # block hashes kept to find where a deep reorg forked

    # RPC faults: retry with backoff; a node that stays unreachable this long ends the daemon
    # (exit 75) so the supervisor restarts it.
    rpc_retry_initial_s: float = 0.5
    rpc_retry_max_s: float = 10.0
    node_down_after_s: float = 60.0

    # Effects (emails): retried with exponential backoff, dead-lettered after max_attempts.
    retry_initial_s: float = 5.0
    retry_multiplier: float = 2.0
    retry_max_s: float = 600.0
    max_attempts: int = 8
    delivery_batch: int = 50

    # Record-accessed notices: one email per access, or one digest per patient per interval.
    access_notifications: Literal["individual", "digest"] = "individual"
    digest_interval_s: float = 3600.0

    # Supervisor: restart backoff after the daemon died
    restart_initial_s: float = 1.0
    restart_max_s: float = 60.0

    # /healthz and Prometheus /metrics on 127.0.0.1 (None: off; 0: any free port)
    status_port: int | None = None

    # Links in emails
    dapp_url: str = "http://127.0.0.1:5173"

    def state_file(self, daemon: str) -> Path:
        return self.state_dir / f"{daemon}.sqlite"
