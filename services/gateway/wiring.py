"""Build the gateway from settings: chain (deployments file), record store for that chain, blobs."""

from __future__ import annotations

from flask import Flask

from services.gateway.app import create_app
from services.gateway.chain import Ledger
from services.gateway.settings import GatewaySettings
from services.records import ChainIdentity, RecordsSettings, open_store


def chain_identity(ledger: Ledger) -> ChainIdentity:
    """The store's namespace follows the deployment: a new chain or contract starts fresh."""
    deployments = ledger.deployments
    return ChainIdentity(deployments.chain_id, deployments.genesis_hash,
                         {name: c.address for name, c in deployments.contracts.items()})


def open_blobs():
    """The configured blob store for ipfs:// pointers (None when the blobs service is absent)."""
    try:
        from services.blobs import open_blobs as open_configured
    except ImportError:
        return None
    return open_configured()


def build_app(settings: GatewaySettings | None = None,
              records: RecordsSettings | None = None) -> Flask:
    settings = settings or GatewaySettings()
    ledger = Ledger(settings)
    store = open_store(records or RecordsSettings(), chain_identity(ledger))
    return create_app(settings, ledger=ledger, store=store, blobs=open_blobs())
