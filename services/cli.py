"""The `pulseledger` command: one entry point; each service contributes its sub-commands."""

import click


@click.group()
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""


def _register() -> None:
    from services.listeners.cli import listen

    main.add_command(listen)


_register()
