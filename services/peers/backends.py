"""The backends a peer uses, from their own services' settings: the record store (records), the
predictor and alert policy (predict), the notifier (notify), the batch anchor (chain).

Unless their settings are given explicitly (env), the embedded defaults live in the peers'
data_dir, so every peer process started with the same data_dir shares one store and one outbox.
"""

from __future__ import annotations

from pathlib import Path

from services.chain.deployments import load_deployments
from services.peers.settings import PeersSettings


def records_settings(data_dir: Path, deployments_file: Path | None = None):
    """The record store's settings, with the peers' embedded defaults; with a deployments file,
    the store's chain namespace follows that deployment (as the gateway's does), unless
    PULSELEDGER_RECORDS_CHAIN_ID / _GENESIS_HASH / _CONTRACTS say otherwise."""
    from services.records import RecordsSettings

    settings = RecordsSettings()
    defaults: dict = {}
    if "sqlite_dir" not in settings.model_fields_set:
        defaults["sqlite_dir"] = Path(data_dir) / "records"
    if "master_key_file" not in settings.model_fields_set:
        defaults["master_key_file"] = Path(data_dir) / "records-master.key"
    chain_fields = {"chain_id", "genesis_hash", "contracts"}
    if deployments_file is not None and not chain_fields & settings.model_fields_set:
        deployments = load_deployments(deployments_file)
        defaults.update(chain_id=deployments.chain_id, genesis_hash=deployments.genesis_hash,
                        contracts={n: c.address for n, c in deployments.contracts.items()})
    return settings.model_copy(update=defaults)


def open_record_store(settings: PeersSettings):
    return open_store_from(records_settings(settings.data_dir, settings.deployments_path()))


def open_store_from(records):
    from services.records import open_store

    return open_store(records)


def open_predictor(settings: PeersSettings):
    from services.predict import load_predictor

    return load_predictor()


def open_alert_tracker(settings: PeersSettings):
    from services.alerts import AlertSettings, EpisodeTracker

    return EpisodeTracker(settings.alerts or AlertSettings())


def open_notifier(settings: PeersSettings):
    from services.notify import NotifySettings, open_notifier

    notify = NotifySettings()
    if "outbox_dir" not in notify.model_fields_set:
        notify = notify.model_copy(update={"outbox_dir": Path(settings.data_dir) / "outbox"})
    return open_notifier(notify)


def open_anchor(settings: PeersSettings):
    """The custodian's batch anchor, or None (no key, or no ledger known): then no batches are
    built. Explicit chain_rpc_url / ledger_address win over the deployments file and
    PULSELEDGER_CHAIN_RPC_URL; an anchor found through the deployments file also checks, before
    its first transaction, that the RPC serves that deployment's chain and has code there."""
    if not settings.custodian_private_key:
        return None
    from services.peers.anchoring import Web3BatchAnchor

    address, chain_id = settings.ledger_address, None
    if not address:
        path = settings.deployments_path()
        if path is None:
            return None
        deployments = load_deployments(path)
        address, chain_id = deployments.address("PulseLedger"), deployments.chain_id
    chain = settings.chain()
    return Web3BatchAnchor(chain.rpc_url, address, settings.custodian_private_key,
                           expected_chain_id=chain_id, log_block_range=chain.log_block_range)
