from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ChainSettings(BaseSettings):
    """Where the chain is and which deployment of our contracts to use."""

    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_CHAIN_")

    rpc_url: str = "http://127.0.0.1:8545"
    deployments: Path = Path(".pulseledger/deployments.json")
    request_timeout_s: float = 10.0
