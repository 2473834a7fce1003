"""Deploy once, reuse after: a restart of the local chain keeps its contracts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from web3 import Web3

from services.chain.deployments import Deployments, DeploymentsError, load_deployments
from services.stack.binaries import REPO_ROOT


class DeployError(RuntimeError):
    pass


def reusable_deployment(w3: Web3, deployments_file: Path) -> Deployments | None:
    """The recorded deployment if it belongs to this very chain and its code is still there."""
    try:
        deployments = load_deployments(deployments_file)
    except DeploymentsError:
        return None
    genesis = w3.eth.get_block(0)["hash"].hex()
    if deployments.chain_id != w3.eth.chain_id or _hex(deployments.genesis_hash) != _hex(genesis):
        return None
    if not w3.eth.get_code(Web3.to_checksum_address(deployments.address())):
        return None
    return deployments


def deploy_with_ape(network: str, account: str, deployments_file: Path,
                    delivery_window_s: int, custodians: list[str] = ()) -> Deployments:
    """Run the project's own `ape run deploy`, the same path a user takes for any network."""
    command = [_ape(), "run", "deploy", "--network", network, "--account", account,
               "--output", str(Path(deployments_file).resolve()),
               "--delivery-window", str(delivery_window_s)]
    for custodian in custodians:
        command += ["--custodian", custodian]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DeployError(f"`ape run deploy` failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return load_deployments(deployments_file)


def _ape() -> str:
    """The `ape` installed beside this interpreter: a service started by its full path
    (`.venv/bin/pulseledger up`, a systemd unit) has no virtualenv on PATH."""
    beside = Path(sys.executable).with_name("ape")
    if beside.exists():
        return str(beside)
    on_path = shutil.which("ape")
    if on_path is None:
        raise DeployError("`ape` is neither beside this Python nor on PATH: run `make setup`")
    return on_path


def _hex(value: str) -> str:
    return value.lower().removeprefix("0x")
