"""Settings of the blob store (env prefix `PULSELEDGER_BLOBS_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class BlobsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_BLOBS_", extra="ignore")

    backend: Literal["local", "ipfs"] = "local"
    local_dir: Path = Path(".pulseledger/blobs")
    ipfs_api: str = "/ip4/127.0.0.1/tcp/5001/http"  # Kubo's RPC (never the public gateway)
    ipfs_timeout_s: float = 30.0
    ipfs_offline: bool = True
