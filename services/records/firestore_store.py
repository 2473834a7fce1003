"""The Firestore record store: the one store (services/records/store.py) over Firestore tables
(firestore_tables.py: the layout, built for 1,000 windows/s; indexes in firestore.indexes.json).
Tests run it against the official emulator."""

from __future__ import annotations

import os

from google.cloud import firestore

from services.records.base import ChainIdentity
from services.records.firestore_client import make_client
from services.records.firestore_tables import FirestoreTables
from services.records.integrity import AlertSink
from services.records.keystore import Keyring
from services.records.settings import RecordsSettings
from services.records.store import Store

__all__ = ["FirestoreRecordStore", "make_client"]


class FirestoreRecordStore(Store):
    def __init__(
        self,
        client: firestore.Client,
        chain: ChainIdentity,
        keyring: Keyring | None,
        *,
        key_client: firestore.Client | None = None,
        prefix: str = "pulseledger",
        create: bool = True,
        on_alert: AlertSink | None = None,
    ) -> None:
        tables = FirestoreTables(client, chain.namespace, chain.canonical(),
                                 key_client=key_client, prefix=prefix, create=create)
        super().__init__(tables, chain, keyring, on_alert=on_alert)

    @classmethod
    def from_settings(
        cls, settings: RecordsSettings, chain: ChainIdentity, *, create: bool = True,
        require_master_key: bool = True,
    ) -> FirestoreRecordStore:
        client, key_client = clients(settings)
        try:
            return cls(client, chain, settings.keyring(required=require_master_key), key_client=key_client,
                       prefix=settings.firestore_prefix, create=create)
        except BaseException:
            client.close()
            if key_client is not None:
                key_client.close()
            raise


def clients(settings: RecordsSettings) -> tuple[firestore.Client, firestore.Client | None]:
    """(records client, keys client or None) for these settings."""
    host = settings.firestore_emulator_host or os.environ.get("FIRESTORE_EMULATOR_HOST")
    client = make_client(settings.firestore_project, settings.firestore_database, host)
    key_client = None
    if settings.firestore_key_database:
        key_client = make_client(settings.firestore_project, settings.firestore_key_database, host)
    return client, key_client
