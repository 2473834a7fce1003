"""Ingest: signed wearable readings, their validation, and the queues that carry them."""
