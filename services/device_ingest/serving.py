"""gunicorn for the device endpoint: one worker (the budgets are in its memory) with threads.

The app is built in the worker, after the fork, so no SQLite connection or queue handle crosses a
fork; it is closed when the worker exits (SIGTERM: gunicorn stops accepting, finishes the requests
in flight within graceful_timeout, then the worker closes the queue and the store)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from services.device_ingest.settings import DeviceIngestSettings


def serve_gunicorn(build, settings: DeviceIngestSettings) -> None:
    built = {}

    def close(_server, _worker) -> None:
        app = built.get("app")
        closer = app.extensions["pulseledger_device_ingest"]["close"] if app else None
        if closer is not None:
            closer()

    class Server(BaseApplication):
        def load_config(self) -> None:
            config = {"bind": f"{settings.host}:{settings.port}", "workers": 1,
                      "threads": settings.threads, "worker_class": "gthread", "timeout": 0,
                      "graceful_timeout": 10, "keepalive": 5, "accesslog": None,
                      "limit_request_line": 4096, "limit_request_fields": 50,
                      "limit_request_field_size": 8190, "worker_exit": close,
                      "control_socket_disable": True}
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self):
            built["app"] = build()
            return built["app"]

    Server().run()
