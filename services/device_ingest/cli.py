"""`pulseledger devices serve`: the HTTP endpoint real devices post signed readings to.

gunicorn, one worker process with threads (budgets live in its memory), or Flask's development
server. Binds 127.0.0.1 unless told otherwise; in production put it behind a TLS-terminating
proxy that buffers requests (docs/devices.md, Running it)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("devices")
def devices() -> None:
    """Real devices: the ingest endpoint they post to."""


@devices.command("serve")
@click.option("--host", help="Bind address (default: settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: settings, 8603).")
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="Where the queue and record store are, as for `pulseledger peer` "
                   "(default: settings, .pulseledger).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def serve(host: str | None, port: int | None, data_dir: Path | None, dev: bool) -> None:
    """Serve POST /v1/readings (settings: PULSELEDGER_DEVICE_INGEST_*, queue and validation:
    PULSELEDGER_INGEST_*, registered devices: PULSELEDGER_RECORDS_*)."""
    from services.device_ingest.serving import serve_gunicorn
    from services.device_ingest.settings import DeviceIngestSettings
    from services.device_ingest.wiring import build_app, check_settings
    from services.ingest.settings import ingest_settings_for

    overrides = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items()
                 if v is not None}
    settings = DeviceIngestSettings(**overrides)
    try:
        check_settings(settings, ingest_settings_for(settings.data_dir))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if dev:
        build_app(settings).run(host=settings.host, port=settings.port, threaded=True)
        return
    serve_gunicorn(lambda: build_app(settings), settings)
