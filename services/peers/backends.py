"""The backends a peer uses, from their own services' settings: the record store (records), the
predictor and alert policy (predict), the notifier (notify), the batch anchor (chain).

Unless their settings are given explicitly (env), the embedded defaults live in the peers'
data_dir, so every peer process started with the same data_dir shares one store and one outbox.
"""

from __future__ import annotations

from pathlib import Path

from services.peers.settings import PeersSettings


def records_settings(data_dir: Path):
    from services.records import RecordsSettings

    settings = RecordsSettings()
    defaults = {}
    if "sqlite_dir" not in settings.model_fields_set:
        defaults["sqlite_dir"] = Path(data_dir) / "records"
    if "master_key_file" not in settings.model_fields_set:
        defaults["master_key_file"] = Path(data_dir) / "records-master.key"
    return settings.model_copy(update=defaults)


def open_record_store(settings: PeersSettings):
    from services.records import open_store

    return open_store(records_settings(settings.data_dir))


def open_predictor(settings: PeersSettings):
    from services.predict import load_predictor

    return load_predictor()


def open_alert_policy(settings: PeersSettings):
    from services.predict.alert_policy import KOfNAlertPolicy
    from services.predict.settings import PredictSettings

    predict = PredictSettings()
    return KOfNAlertPolicy(settings.alert_k or predict.alert_k, settings.alert_n or predict.alert_n,
                           predict.alert_max_age_ms)


def open_notifier(settings: PeersSettings):
    from services.notify import NotifySettings, open_notifier

    notify = NotifySettings()
    if "outbox_dir" not in notify.model_fields_set:
        notify = notify.model_copy(update={"outbox_dir": Path(settings.data_dir) / "outbox"})
    return open_notifier(notify)


def open_anchor(settings: PeersSettings):
    if not (settings.chain_rpc_url and settings.ledger_address and settings.custodian_private_key):
        return None  # batches are still built and proofs kept; the root is not put on-chain
    from services.peers.anchoring import Web3BatchAnchor

    return Web3BatchAnchor(settings.chain_rpc_url, settings.ledger_address,
                           settings.custodian_private_key)
