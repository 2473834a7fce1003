"""Device endpoint settings (env prefix PULSELEDGER_DEVICE_INGEST_).

The queue and the record store are the masters' own: PULSELEDGER_INGEST_* (queue backend, path,
ranges, skew limits: the same validation) and PULSELEDGER_RECORDS_* (the registered devices), with
their embedded defaults under `data_dir` as `pulseledger peer --data-dir` has them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeviceIngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_DEVICE_INGEST_")

    host: str = "127.0.0.1"
    port: int = 8603
    data_dir: Path = Path(".pulseledger")
    threads: int = 8

    # What one request may hold (a batch of 600 FHIR Observations is about 400 KB).
    max_body_bytes: int = 1_048_576

    # Per client address (before anything is read): requests, and refused messages — each refusal
    # of a message no registered device signed costs a dead letter, so it has its own budget.
    client_requests_per_s: float = 20.0
    client_request_burst: int = 60
    client_rejects_per_s: float = 0.2
    client_reject_burst: int = 30
    # Per device (once its signature checked out): readings. 50/s lets a phone catch up on a day
    # of 1 Hz readings in half an hour; the burst takes an hour of them at once.
    device_readings_per_s: float = 50.0
    device_reading_burst: int = 3600
    # Behind a proxy: the addresses whose X-Forwarded-For is believed (none by default).
    trusted_proxies: list[str] = Field(default_factory=list)
    max_tracked_keys: int = 100_000  # budget entries kept in memory (least recently used go)

    # Backpressure: above this many messages waiting in the queue, new ones get 429 Retry-After.
    max_queue_depth: int = 20_000
    depth_refresh_s: float = 1.0  # how stale the depth may be (Service Bus: its management API)
    backpressure_retry_after_s: int = 5  # each client is told between this and twice this

    device_cache_s: float = 30.0  # a removed device is still admitted for up to this long
