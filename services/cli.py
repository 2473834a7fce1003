"""The `pulseledger` command: one entry point; each service contributes its sub-commands."""

import click

from services.listeners.cli import listen
from services.stack.cli import up


@click.group()
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""


main.add_command(up)
main.add_command(listen)
