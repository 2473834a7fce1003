"""Ingest settings (env prefix PULSELEDGER_INGEST_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_INGEST_")

    # Which queue carries readings: the durable local queue (embedded default) or Service Bus.
    queue_backend: Literal["local", "servicebus"] = "local"
    queue_path: Path = Path(".pulseledger/queue.db")
    servicebus_connection_string: str = ""
    servicebus_queue_name: str = "readings"

    # Peek-lock: a received message is invisible for lock_s, then returns to the queue.
    lock_s: float = 30.0
    max_delivery_count: int = 10

    # Plausible ranges (adult wearables; anything outside is a sensor fault or a forgery).
    heartrate_min: float = 25.0
    heartrate_max: float = 250.0
    rr_min_ms: int = 200
    rr_max_ms: int = 3000
    rr_max_count: int = 16
    batch_max_readings: int = 600
    # What a device signed travels beside its readings as far as storage (which checks it), so
    # it is bounded: 512 KiB of canonical JSON (600 readings of ours, ~400 FHIR Observations with
    # RR intervals).
    max_signed_bytes: int = 512 * 1024

    # Timestamp sanity: device clocks may run a little ahead; old readings are not accepted.
    max_future_skew_ms: int = 60_000
    max_age_ms: int = 86_400_000


def ingest_settings_for(data_dir: Path) -> IngestSettings:
    """Settings from the environment; the local queue lives in data_dir unless set explicitly."""
    settings = IngestSettings()
    if "queue_path" not in settings.model_fields_set:
        settings = settings.model_copy(update={"queue_path": Path(data_dir) / "queue.db"})
    return settings
