"""Build the endpoint from settings: the masters' queue and record store, the same validation
settings, budgets and backpressure."""

from __future__ import annotations

from flask import Flask

from services.device_ingest.admission import Admission
from services.device_ingest.app import create_app
from services.device_ingest.backpressure import QueueBehind
from services.device_ingest.metrics import Metrics
from services.device_ingest.settings import DeviceIngestSettings
from services.ingest.device_directory import CachedDevices
from services.ingest.settings import IngestSettings, ingest_settings_for
from services.runtime.token_buckets import TokenBuckets


def check_settings(settings: DeviceIngestSettings, ingest: IngestSettings) -> None:
    """Refuse, before serving, budgets under which a valid message could never pass."""
    if settings.device_reading_burst < ingest.batch_max_readings:
        raise ValueError(f"PULSELEDGER_DEVICE_INGEST_DEVICE_READING_BURST "
                         f"({settings.device_reading_burst}) must be at least the largest "
                         f"batch, PULSELEDGER_INGEST_BATCH_MAX_READINGS "
                         f"({ingest.batch_max_readings})")


def build_app(settings: DeviceIngestSettings | None = None) -> Flask:
    from services.ingest.queues.factory import open_queue
    from services.peers.backends import open_record_store
    from services.peers.settings import PeersSettings

    settings = settings or DeviceIngestSettings()
    ingest = ingest_settings_for(settings.data_dir)
    check_settings(settings, ingest)
    # The store the masters of this data_dir open (same deployments-file lookup, same env).
    store = open_record_store(PeersSettings(data_dir=settings.data_dir))
    queue = open_queue(ingest)
    metrics = Metrics()
    admission = Admission(
        ingest, CachedDevices(store, settings.device_cache_s), store, queue,
        TokenBuckets(settings.device_readings_per_s, settings.device_reading_burst,
                     settings.max_tracked_keys),
        metrics)
    behind = QueueBehind(queue, settings.max_queue_depth, settings.depth_refresh_s,
                         settings.backpressure_retry_after_s)

    def close() -> None:
        queue.close()
        store.close()

    return create_app(settings, admission=admission, behind=behind, metrics=metrics,
                      on_close=close)
