"""What every service runs on: one process supervisor, one health/metrics server, one set of
SQLite helpers. Nothing here knows about peers, listeners, the gateway or the stack."""
