"""The `pulseledger` command: one entry point; each service contributes its sub-commands."""

import click

from services.blobs.cli import blobs
from services.ingest.cli import simulate
from services.listeners.cli import listen
from services.peers.cli import peer, peers
from services.predict.cli import model
from services.records.cli import records


@click.group()
def main() -> None:
    """PulseLedger: patient-controlled heart-health monitoring and data sharing."""


main.add_command(records)
main.add_command(blobs)
main.add_command(simulate)
main.add_command(peer)
main.add_command(peers)
main.add_command(model)
main.add_command(listen)
