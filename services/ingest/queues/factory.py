"""Open the configured queue (local SQLite by default, Service Bus when configured)."""

from __future__ import annotations

from services.ingest.queues.local import LocalQueue
from services.ingest.settings import IngestSettings


def open_queue(settings: IngestSettings):
    if settings.queue_backend == "servicebus":
        from services.ingest.queues.servicebus import ServiceBusQueue

        return ServiceBusQueue.from_connection_string(
            settings.servicebus_connection_string, settings.servicebus_queue_name
        )
    return LocalQueue(settings.queue_path, settings.lock_s, settings.max_delivery_count)
