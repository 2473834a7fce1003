"""Which record store the running services use, found the way they find it — for operator commands
(`pulseledger records …`), which must act on that store or stop, never on a guess.

The services agree on the store through the same settings: `PULSELEDGER_RECORDS_*` for the
backend, `pulseledger up`'s state directory for the embedded defaults (`<state_dir>/records`,
`<state_dir>/records-master.key`), and the chain identity of the deployment they serve — the
deployments file (`PULSELEDGER_CHAIN_DEPLOYMENTS`, the gateway's `PULSELEDGER_GATEWAY_DEPLOYMENTS`,
or `up`'s `<state_dir>/deployments.json`), unless `PULSELEDGER_RECORDS_CHAIN_ID`, `_GENESIS_HASH`
and `_CONTRACTS` name it (as `up` sets them for its services). Whatever is ambiguous or missing
stops the command with a message saying what to set; nothing here creates a file or a namespace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.chain.deployments import DeploymentsError, load_deployments
from services.records.base import ChainIdentity, RecordsError
from services.records.settings import RecordsSettings

CHAIN_FIELDS = frozenset({"chain_id", "genesis_hash", "contracts"})
CHAIN_ENV = "PULSELEDGER_RECORDS_CHAIN_ID, _GENESIS_HASH and _CONTRACTS"
DEPLOYMENTS_ENV = ("PULSELEDGER_CHAIN_DEPLOYMENTS", "PULSELEDGER_GATEWAY_DEPLOYMENTS")


class DeploymentUnknown(RecordsError):
    """The settings do not say which deployment's records to act on (or say two things)."""


@dataclass(frozen=True)
class Deployment:
    settings: RecordsSettings  # never creates a master key file
    chain: ChainIdentity
    chain_source: str  # where the chain identity came from, for the operator


def find_deployment(deployments_file: Path | None = None) -> Deployment:
    """The store the services use. `deployments_file`: the operator names it explicitly."""
    from services.stack.settings import StackSettings

    settings = RecordsSettings()
    state_dir = StackSettings().state_dir
    defaults: dict = {"create_master_key": False}
    if "sqlite_dir" not in settings.model_fields_set:
        defaults["sqlite_dir"] = state_dir / "records"
    if "master_key_file" not in settings.model_fields_set:
        defaults["master_key_file"] = state_dir / "records-master.key"
    settings = settings.model_copy(update=defaults)
    chain, source = _chain_identity(settings, deployments_file)
    return Deployment(settings, chain, source)


def _chain_identity(settings: RecordsSettings,
                    deployments_file: Path | None) -> tuple[ChainIdentity, str]:
    explicit = CHAIN_FIELDS & settings.model_fields_set
    if explicit and explicit != CHAIN_FIELDS:
        missing = ", ".join(f"PULSELEDGER_RECORDS_{f.upper()}" for f in sorted(CHAIN_FIELDS - explicit))
        raise DeploymentUnknown(
            f"{CHAIN_ENV} name the chain together, and {missing} is not set: set all three "
            "(as `pulseledger up` does for its services) or none (the deployments file is read)")
    from_env = settings.chain_identity() if explicit else None
    named = deployments_file or _named_deployments_path()
    if from_env is not None and (named is None or (deployments_file is None and not named.exists())):
        return from_env, CHAIN_ENV
    path = named or _default_deployments_path()
    try:
        deployments = load_deployments(path)
    except DeploymentsError as error:
        raise DeploymentUnknown(
            f"{error}. The services name their chain from that file: point "
            f"{DEPLOYMENTS_ENV[0]} (or --deployments) at the one they use, or set {CHAIN_ENV} "
            "as they have them") from None
    chain = ChainIdentity.of(deployments)
    if from_env is not None and from_env.namespace != chain.namespace:
        raise DeploymentUnknown(
            f"the deployments file {path} names chain namespace {chain.namespace}, but {CHAIN_ENV}"
            f" name {from_env.namespace}: the services would disagree too; fix one of them")
    return chain, f"deployments file {path}"


def _named_deployments_path() -> Path | None:
    """The deployments file the environment names (the chain's and the gateway's must agree)."""
    named = {name: Path(os.environ[name]) for name in DEPLOYMENTS_ENV if os.environ.get(name)}
    if len({p.resolve() for p in named.values()}) > 1:
        listed = ", ".join(f"{name}={path}" for name, path in named.items())
        raise DeploymentUnknown(f"the deployments files disagree ({listed}): which one do the "
                                "services use? Pass --deployments")
    return next(iter(named.values()), None)


def _default_deployments_path() -> Path:
    from services.stack.settings import StackSettings

    return StackSettings().deployments_file
