"""`pulseledger check-settings SERVICE`: validate, before a start, every settings class a service
reads, from the environment it would run with (a unit's EnvironmentFile, a container's env).

Why a command of its own: a service validates its settings only as it starts, and some only when
the first request needs them; an operator rolling out a unit wants the answer before the restart.
Errors name the setting and what is wrong, never a secret's value (pydantic's messages quote the
input, so values of secret-looking settings are left out). Exit 0 valid, 2 invalid."""

from __future__ import annotations

import importlib
import re
import sys

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError

# service (as in deploy/systemd) -> the settings classes its process reads, "module:Class"
SERVICE_SETTINGS: dict[str, tuple[str, ...]] = {
    "gateway": ("services.gateway.settings:GatewaySettings",
                "services.records.settings:RecordsSettings",
                "services.blobs.settings:BlobsSettings",
                "services.chain.settings:ChainSettings"),
    "peer": ("services.peers.settings:PeersSettings",
             "services.ingest.settings:IngestSettings",
             "services.records.settings:RecordsSettings",
             "services.blobs.settings:BlobsSettings",
             "services.predict.settings:PredictSettings",
             "services.notify.settings:NotifySettings",
             "services.chain.settings:ChainSettings"),
    "devices": ("services.device_ingest.settings:DeviceIngestSettings",
                "services.ingest.settings:IngestSettings",
                "services.records.settings:RecordsSettings"),
    "listeners": ("services.listeners.settings:ListenerSettings",
                  "services.notify.settings:NotifySettings",
                  "services.records.settings:RecordsSettings",
                  "services.chain.settings:ChainSettings"),
    "market": ("services.market.settings:MarketSettings",
               "services.records.settings:RecordsSettings",
               "services.chain.settings:ChainSettings"),
    "proxy": ("services.sigv4proxy.settings:ProxySettings",),
    "proxy-ws": ("services.sigv4proxy.settings:ProxySettings",),
}

_SECRET_WORDS = ("key", "secret", "password", "token", "url", "credential", "upstreams")


def _load(target: str) -> type:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _describe(error: dict, prefix: str) -> str:
    """One line per problem: the environment variable and pydantic's reason, no input value."""
    field = ".".join(str(part) for part in error["loc"])
    variable = f"{prefix}{error['loc'][0]}".upper() if error["loc"] else f"{prefix}*"
    reason = error["msg"]
    # Whole-model checks have no field and their input is every setting: never quoted.
    if field and not any(word in field.lower() for word in _SECRET_WORDS) and "input" in error:
        reason += f" (got {error['input']!r})"
    return f"{variable} ({field}): {reason}"


def problems(service: str) -> list[str]:
    """Every validation problem of the service's settings, in the current environment."""
    found = []
    for target in SERVICE_SETTINGS[service]:
        settings_class = _load(target)
        prefix = settings_class.model_config.get("env_prefix", "")
        try:
            settings_class()
        except ValidationError as exc:
            found += [_describe(error, prefix) for error in exc.errors()]
        except SettingsError as exc:
            # A JSON setting that does not decode: the message names the field; the chained
            # exception is dropped (never printed as a traceback, never quoting the value).
            field = re.search(r'field "([A-Za-z0-9_]+)"', str(exc))
            variable = f"{prefix}{field.group(1)}".upper() if field else f"{prefix}*"
            found.append(f"{variable}: not valid JSON for this setting")
        except RecursionError:
            found.append(f"{prefix}*: a JSON setting is nested too deeply")
    return found


@click.command("check-settings")
@click.argument("service", type=click.Choice(sorted(SERVICE_SETTINGS)))
def check_settings(service: str) -> None:
    """Validate SERVICE's settings from this environment (exit 0 valid, 2 invalid)."""
    found = problems(service)
    if found:
        click.echo(f"{service}: {len(found)} invalid setting(s)", err=True)
        for line in found:
            click.echo(f"  {line}", err=True)
        sys.exit(2)
    click.echo(f"{service}: settings valid")
