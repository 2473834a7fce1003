"""The `pulseledger` command: one entry point; each service contributes its sub-commands.

Sub-commands are imported only when used, so `pulseledger proxy` does not pay for web3 and ape.
"""

import importlib

import click

# command name -> "module:attribute" of its click command or group
COMMANDS = {
    "up": "services.stack.cli:up",
    "records": "services.records.cli:records",
    "blobs": "services.blobs.cli:blobs",
    "gateway": "services.gateway.cli:gateway",
    "model": "services.predict.cli:model",
    "simulate": "services.ingest.cli:simulate",
    "devices": "services.device_ingest.cli:devices",
    "peer": "services.peers.cli:peer",
    "peers": "services.peers.cli:peers",
    "operator": "services.peers.admission.cli:operator",
    "proxy": "services.sigv4proxy.cli:proxy",
    "proxy-ws": "services.sigv4proxy.cli:proxy_ws",
    "listen": "services.listeners.cli:listen",
    "check-settings": "services.settings_check:check_settings",
    "market": "services.market.cli:market",
    "buyer": "services.market.cli:buyer",
    "verify": "services.market.cli:verify",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup)
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""
