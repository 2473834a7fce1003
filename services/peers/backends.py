"""The backends a peer uses, from settings: the record store, predictor, notifier, batch anchor.

Each prefers the real service package once its branch has landed (services.records,
services.predict, services.notify) and falls back to this package's interim stand-ins."""

from __future__ import annotations

from services.peers.settings import PeersSettings


def open_record_store(settings: PeersSettings):
    from services.peers.interim_records import InterimRecordStore

    return InterimRecordStore(settings.record_store_path)


def open_predictor(settings: PeersSettings):
    from services.peers.interim_predict import RulePredictor

    return RulePredictor()


def open_notifier(settings: PeersSettings):
    from services.peers.interim_notify import OutboxNotifier

    return OutboxNotifier(settings.outbox_dir)


def open_anchor(settings: PeersSettings):
    if not (settings.chain_rpc_url and settings.ledger_address and settings.custodian_private_key):
        return None  # batches are still built and proofs kept; the root is not put on-chain
    from services.peers.anchoring import Web3BatchAnchor

    return Web3BatchAnchor(settings.chain_rpc_url, settings.ledger_address,
                           settings.custodian_private_key)
