"""Deploy PulseLedger to any network and write the deployments file.

    ape run deploy --network ethereum:local:foundry --account TEST::0
    ape run deploy --network ethereum:sepolia:node --account deployer --gateway 0x.. \
        --custodian 0x.. --output deployments/sepolia.json

Non-interactive: no prompts (use `--account TEST::N` locally, or an imported keyfile with
APE_ACCOUNTS_<alias>_PASSPHRASE and autosign elsewhere). Everything the services and the dapp need
ends up in the deployments file.
"""

import json
from pathlib import Path

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand, account_option
from eth_utils import to_hex

from services.chain.deployments import (
    ContractDeployment,
    Deployments,
    abi_location,
    write_deployments,
)

ONE_WEEK_S = 7 * 24 * 3600


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--gateway", help="Data gateway address (defaults to the deployer).")
@click.option("--delivery-window", type=int, default=ONE_WEEK_S, show_default=True,
              help="Seconds the gateway has to confirm delivery before a buyer may reclaim "
                   "(1 s to 7 days: the contract refuses longer).")
@click.option("--custodian", "custodians", multiple=True,
              help="Storage custodian to register (repeatable).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Deployments file (default deployments/<network>.json).")
def cli(network, account, gateway, delivery_window, custodians, output):
    output = output or Path("deployments") / f"{network.name}.json"
    ledger = account.deploy(project.PulseLedger, gateway or account.address, delivery_window)
    receipt = chain.get_receipt(ledger.txn_hash)
    for custodian in custodians:
        ledger.setCustodian(custodian, True, sender=account)

    abi_file = output.parent / "abi" / "PulseLedger.json"
    abi_file.parent.mkdir(parents=True, exist_ok=True)
    abi_file.write_text(json.dumps({"abi": [entry.model_dump(mode="json", by_alias=True)
                                             for entry in project.PulseLedger.contract_type.abi]},
                                   indent=1) + "\n")
    deployments = Deployments(
        network=f"{network.ecosystem.name}:{network.name}:{network.provider.name}",
        chain_id=chain.chain_id,
        genesis_hash=to_hex(chain.blocks[0].hash),
        deployment_block=receipt.block_number,
        deployer=account.address,
        contracts={
            "PulseLedger": ContractDeployment(
                address=ledger.address,
                abi=abi_location(abi_file, output),
                block=receipt.block_number,
                tx=to_hex(receipt.txn_hash) if isinstance(receipt.txn_hash, bytes) else receipt.txn_hash,
            )
        },
    )
    written = write_deployments(deployments, output)
    click.echo(f"PulseLedger {ledger.address} (block {receipt.block_number}) -> {written}")
