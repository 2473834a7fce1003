"""The `pulseledger` command: one entry point; each service contributes its sub-commands."""

import click


@click.group()
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""


from services.gateway.cli import gateway  # noqa: E402

main.add_command(gateway)
