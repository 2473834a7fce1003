"""`pulseledger up`: bring the system up on embedded defaults and keep it up until Ctrl-C."""

from __future__ import annotations

import signal
import threading

import click
from rich.console import Console
from rich.table import Table
from web3 import Web3

from services.stack.anvil import Anvil
from services.stack.deploy import deploy_with_ape, reusable_deployment
from services.stack.settings import StackSettings

# The `devnet` network of ape-config.yaml (chain id 31337, block time 1) at this chain's URL.
DEVNET = "ethereum:devnet:{url}"


@click.command()
@click.option("--once", is_flag=True, help="Bring everything up, print the status, then stop.")
def up(once: bool) -> None:
    """Start the local chain (state kept across restarts), deploy the contracts once, show them."""
    settings = StackSettings()
    console = Console()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    chain = Anvil(port=settings.chain_port, host=settings.chain_host,
                  block_time_s=settings.block_time_s, state_file=settings.chain_state_file,
                  state_interval_s=settings.state_interval_s,
                  log_file=settings.state_dir / "anvil.log")
    with console.status("starting the local chain (anvil)"):
        chain.start()
    try:
        w3 = Web3(Web3.HTTPProvider(chain.url))
        deployments = reusable_deployment(w3, settings.deployments_file)
        if deployments is None:
            with console.status("deploying PulseLedger (ape run deploy)"):
                deployments = deploy_with_ape(DEVNET.format(url=chain.url),
                                              settings.deploy_account,
                                              settings.deployments_file,
                                              settings.delivery_window_s)
            verdict = "deployed"
        else:
            verdict = "reused"
        console.print(_status_table(chain.url, w3, deployments, verdict, settings))
        if not once:
            console.print("[bold]Up.[/] Ctrl-C stops everything (the chain state is kept).")
            stop.wait()
    finally:
        with console.status("stopping (saving the chain state)"):
            chain.stop()
    console.print("Stopped cleanly.")


def _status_table(url, w3, deployments, verdict, settings) -> Table:
    table = Table(title="PulseLedger", show_header=False)
    table.add_row("chain", f"{url} (chain id {w3.eth.chain_id}, block {w3.eth.block_number})")
    table.add_row("chain state", str(settings.chain_state_file))
    for name, contract in deployments.contracts.items():
        table.add_row(name, f"{contract.address} ({verdict}, block {contract.block})")
    table.add_row("deployments file", str(settings.deployments_file))
    return table
