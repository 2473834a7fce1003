from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class StackSettings(BaseSettings):
    """`pulseledger up`: where local state lives and how the local chain runs."""

    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_STACK_")

    state_dir: Path = Path(".pulseledger")
    chain_host: str = "127.0.0.1"
    chain_port: int = 8545
    block_time_s: int = 1
    state_interval_s: int = 5
    deploy_account: str = "TEST::0"
    delivery_window_s: int = 7 * 24 * 3600

    @property
    def chain_state_file(self) -> Path:
        return self.state_dir / "chain" / "anvil-state.json"

    @property
    def deployments_file(self) -> Path:
        return self.state_dir / "deployments.json"
