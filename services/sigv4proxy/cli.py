"""`pulseledger proxy` (gunicorn) and `pulseledger proxy-ws` (asyncio): settings checked first.

A bad setting, deployments file or --bind ends the command with exit code 2 and one line per
problem naming the setting, never its value (upstream URLs and headers carry API keys)."""

import json
import os
import re
import stat
import sys

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError

from .contracts import DeploymentsError, load_write_targets
from .settings import ProxySettings, UpstreamSettings

_PREFIX = "PULSELEDGER_PROXY_"
_FIELDS = frozenset(ProxySettings.model_fields) | frozenset(UpstreamSettings.model_fields)


class ConfigError(Exception):
    """Problems to print, one per line, before exiting with code 2."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines


def _where(loc: tuple) -> str:
    """`PULSELEDGER_PROXY_UPSTREAMS[0].auth` from a pydantic error location. Dict keys (header
    names) are not printed: only field names and positions are known not to be secrets."""
    if not loc:
        return _PREFIX.rstrip("_")
    head, *rest = loc
    where = _PREFIX + str(head).upper() if head in _FIELDS else _PREFIX.rstrip("_")
    for part in rest:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part in _FIELDS:
            where += f".{part}"
        else:
            where += ".<key>"
    return where


def _line(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a check across settings: its message starts with the field it names
        named = re.fullmatch(r"([a-z_]+)((?:\[\d+\])*): (.*)", message, re.DOTALL)
        if named and named.group(1) in _FIELDS:
            return f"{_PREFIX}{named.group(1).upper()}{named.group(2)}: {named.group(3)}"
    return f"{_where(error['loc'])}: {message}"


def load_settings(**updates) -> ProxySettings:
    """The settings, or ConfigError with what is wrong where (values never quoted)."""
    # pydantic-settings reads a JSON `null` as "not set" and uses the default (for UPSTREAMS, a
    # local node): a template that rendered nothing must not start a proxy to somewhere else.
    nulls = sorted(
        n for n, v in os.environ.items() if n.startswith(_PREFIX) and v.strip() == "null"
    )
    if nulls:
        raise ConfigError(
            [f"{name}: null is not a value (unset it for the default)" for name in nulls]
        )
    try:
        settings = ProxySettings()
        if updates:
            settings = ProxySettings.model_validate({**settings.model_dump(), **updates})
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        raise ConfigError([_line(error) for error in errors]) from None
    except SettingsError as exc:
        # pydantic-settings could not even decode the variable (JSON fields): its message names
        # the field; the chained exception may hold the text, so it is dropped.
        field = re.search(r'field "([a-z_]+)"', str(exc))
        name = _PREFIX + field.group(1).upper() if field else _PREFIX + "*"
        raise ConfigError([f"{name}: not valid JSON for this setting"]) from None
    except RecursionError:
        # JSON nested deeper than the parser goes: not a SettingsError, and never a real setting.
        raise ConfigError([f"{_too_deep()}: JSON nested too deeply"]) from None
    try:
        load_write_targets(settings)  # the deployments file and chain id, read before forking
    except DeploymentsError as exc:
        raise ConfigError([str(exc)]) from None
    return settings


def _too_deep() -> str:
    """The variable whose JSON the parser cannot nest into (its value is never read out)."""
    for name, value in os.environ.items():
        if name.startswith(_PREFIX) and value.lstrip()[:1] in ("[", "{"):
            try:
                json.loads(value)
            except RecursionError:
                return name
            except ValueError:
                continue
    return _PREFIX + "*"


def check_bind(bind: str) -> str:
    """`host:port` or `fd://N` (an inherited listening socket); ConfigError otherwise."""
    if bind.startswith("fd://"):
        fd = bind[5:]
        try:
            if not fd.isdigit() or not stat.S_ISSOCK(os.fstat(int(fd)).st_mode):
                raise OSError
        except OSError:
            raise ConfigError(
                ["--bind fd://N: N must be an open socket inherited by this process"]
            ) from None
        return bind
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(["--bind must be host:port (port 0-65535) or fd://N"])
    return bind


def _fail(command: str, error: ConfigError) -> None:
    for line in error.lines:
        click.echo(f"pulseledger {command}: {line}", err=True)
    sys.exit(2)


@click.command("proxy")
@click.option("--bind", default=None, help="host:port or fd://N (default: settings host/port)")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
@click.option("--threads", type=int, default=None, help="threads per worker")
def proxy(bind: str | None, workers: int | None, threads: int | None) -> None:
    """JSON-RPC proxy: allow-listed methods to the configured upstreams (SigV4, header or plain)."""
    updates = {k: v for k, v in {"workers": workers, "threads": threads}.items() if v is not None}
    try:
        settings = load_settings(**updates)
        bind = check_bind(bind or f"{settings.host}:{settings.port}")
    except ConfigError as error:
        _fail("proxy", error)
    from .server import run

    run(settings, bind)


@click.command("proxy-ws")
@click.option("--bind", default=None, help="host:port or fd://N (default: settings host/ws_port)")
def proxy_ws(bind: str | None) -> None:
    """WebSocket subscriptions (eth_subscribe newHeads/logs) to the configured ws upstreams."""
    try:
        settings = load_settings()
        if not settings.ws_upstreams:
            raise ConfigError([f"{_PREFIX}WS_UPSTREAMS: set at least one ws:// or wss:// upstream"])
        bind = check_bind(bind or f"{settings.host}:{settings.ws_port}")
    except ConfigError as error:
        _fail("proxy-ws", error)
    from .ws import run

    run(settings, bind)
