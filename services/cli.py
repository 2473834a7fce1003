"""The `pulseledger` command: one entry point; each service contributes its sub-commands."""

import click


@click.group()
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""


def _register() -> None:
    from services.ingest.cli import simulate
    from services.peers.cli import peer, peers

    for command in (simulate, peer, peers):
        main.add_command(command)


_register()
