"""The `pulseledger` command: one entry point; each service contributes its sub-commands."""

import click

from services.blobs.cli import blobs
from services.gateway.cli import gateway
from services.records.cli import records
from services.sigv4proxy.cli import proxy, proxy_ws
from services.stack.cli import up


@click.group()
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""


main.add_command(up)
main.add_command(records)
main.add_command(blobs)
main.add_command(gateway)
main.add_command(proxy)
main.add_command(proxy_ws)
