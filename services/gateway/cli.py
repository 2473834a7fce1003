"""`pulseledger gateway`: serve the data gateway (uvicorn in front, the Flask app in one thread pool
per kind of request: serving.py; or Flask's development server). Binds 127.0.0.1 unless the
settings say otherwise. Run it several times over one shared store (`SHARED_STORE_URL`) for
replicas behind one address."""

from __future__ import annotations

import click

from services.gateway.settings import GatewaySettings


@click.command("gateway")
@click.option("--host", help="Bind address (default: settings, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: settings, 8600).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of uvicorn.")
def gateway(host: str | None, port: int | None, dev: bool) -> None:
    """Run the data gateway (settings: PULSELEDGER_GATEWAY_*, store: PULSELEDGER_RECORDS_*)."""
    from services.gateway.serving import serve
    from services.gateway.sessions import SecretMisconfigured
    from services.gateway.wiring import build_app

    settings = GatewaySettings()
    host, port = host or settings.host, port or settings.port
    try:
        app = build_app(settings)
    except (SecretMisconfigured, ValueError) as error:
        raise click.ClickException(str(error)) from None
    context = app.extensions["pulseledger_gateway"]
    if dev:
        app.run(host=host, port=port, threaded=True)
        return
    serve(app, settings, host, port, on_stop=context.close)
