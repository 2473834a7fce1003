"""`pulseledger gateway`: serve the data gateway (gunicorn, one process with threads; or Flask's
development server). Binds 127.0.0.1 unless the settings say otherwise."""

from __future__ import annotations

import click

from services.gateway.settings import GatewaySettings


@click.command("gateway")
@click.option("--host", help="Bind address (default: settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: settings, 8600).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def gateway(host: str | None, port: int | None, dev: bool) -> None:
    """Run the data gateway (settings: PULSELEDGER_GATEWAY_*, store: PULSELEDGER_RECORDS_*)."""
    from services.gateway.wiring import build_app

    settings = GatewaySettings()
    host, port = host or settings.host, port or settings.port
    app = build_app(settings)
    if dev:
        app.run(host=host, port=port, threaded=True)
        return
    _serve_gunicorn(app, host, port, settings.workers_threads)


def _serve_gunicorn(app, host: str, port: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            # One process: sign-in nonces and relay budgets are kept in its memory.
            for key, value in {"bind": f"{host}:{port}", "workers": 1, "threads": threads,
                               "worker_class": "gthread", "timeout": 0,
                               "accesslog": None}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()
