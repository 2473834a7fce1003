"""`pulseledger proxy`: serve the JSON-RPC proxy under gunicorn."""

import sys

import click
from pydantic import ValidationError

from .contracts import DeploymentsError, load_write_targets
from .settings import ProxySettings


@click.command("proxy")
@click.option("--bind", default=None, help="host:port or fd://N (default: settings host/port)")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
@click.option("--threads", type=int, default=None, help="threads per worker")
def proxy(bind: str | None, workers: int | None, threads: int | None) -> None:
    """JSON-RPC proxy: allow-listed methods to the configured upstreams (SigV4, header or plain)."""
    updates = {k: v for k, v in {"workers": workers, "threads": threads}.items() if v is not None}
    try:
        settings = ProxySettings().model_copy(update=updates)
    except ValidationError as exc:
        # Locations and reasons only: the rejected values may be upstream URLs with API keys.
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            click.echo(
                f"pulseledger proxy: PULSELEDGER_PROXY_{where.upper()}: {error['msg']}", err=True
            )
        sys.exit(2)
    try:
        load_write_targets(settings)  # fail before forking, with a readable message
    except DeploymentsError as exc:
        click.echo(f"pulseledger proxy: {exc}", err=True)
        sys.exit(2)
    from .server import run

    run(settings, bind or f"{settings.host}:{settings.port}")


@click.command("proxy-ws")
@click.option("--bind", default=None, help="host:port or fd://N (default: settings host/ws_port)")
def proxy_ws(bind: str | None) -> None:
    """WebSocket subscriptions (eth_subscribe newHeads/logs) to the configured ws upstreams."""
    try:
        settings = ProxySettings()
        load_write_targets(settings)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            click.echo(
                f"pulseledger proxy-ws: PULSELEDGER_PROXY_{where.upper()}: {error['msg']}", err=True
            )
        sys.exit(2)
    except DeploymentsError as exc:
        click.echo(f"pulseledger proxy-ws: {exc}", err=True)
        sys.exit(2)
    if not settings.ws_upstreams:
        click.echo("pulseledger proxy-ws: set PULSELEDGER_PROXY_WS_UPSTREAMS", err=True)
        sys.exit(2)
    from .ws import run

    run(settings, bind or f"{settings.host}:{settings.ws_port}")
