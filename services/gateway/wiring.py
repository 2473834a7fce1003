"""Build the gateway from settings: chain (deployments file), record store for that chain, blobs."""

from __future__ import annotations

from flask import Flask

from services.blobs import open_blob_store
from services.gateway.app import create_app
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.records import ChainIdentity, open_store


def chain_identity(ledger: Ledger) -> ChainIdentity:
    """The store's namespace follows the deployment: a new chain or contract starts fresh."""
    return ledger.chain.identity


def build_app(settings: GatewaySettings | None = None) -> Flask:
    settings = settings or GatewaySettings()
    ledger = Ledger(settings)
    store = open_store(settings.records, chain_identity(ledger))
    blobs = open_blob_store(settings.blobs)  # where ipfs:// bundle pointers are fetched from
    return create_app(settings, ledger=ledger, store=store, blobs=blobs)
