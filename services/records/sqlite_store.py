"""The embedded record store: the one store (services/records/store.py) over SQLite tables, plus
what only SQLite can do here: online backup and restore of its two database files.

Layout: `<sqlite_dir>/<chain namespace>/records.sqlite3` and
`<sqlite_key_dir or sqlite_dir>/<chain namespace>/keys.sqlite3` — another chain identity is another
directory, so state never mixes (see sqlite_tables.py).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from services.records.base import ChainIdentity
from services.records.integrity import AlertSink
from services.records.keystore import Keyring
from services.records.settings import RecordsSettings
from services.records.sqlite_tables import SqliteTables
from services.records.store import Store


class SqliteRecordStore(Store):
    def __init__(
        self,
        directory: Path,
        chain: ChainIdentity,
        keyring: Keyring | None,
        *,
        key_directory: Path | None = None,
        poll_interval_s: float = 0.2,
        synchronous: str = "FULL",
        create: bool = True,
        on_alert: AlertSink | None = None,
    ) -> None:
        tables = SqliteTables(directory, key_directory or directory, chain.namespace,
                              chain.canonical(), create=create, synchronous=synchronous,
                              poll_interval_s=poll_interval_s)
        super().__init__(tables, chain, keyring, on_alert=on_alert)
        self.directory = tables.directory
        self.key_directory = tables.key_directory
        self.db_path = tables.db_path
        self.key_db_path = tables.key_db_path
        self.erasure_journal = tables.erasure_journal

    @classmethod
    def from_settings(
        cls, settings: RecordsSettings, chain: ChainIdentity, *, create: bool = True,
        require_master_key: bool = True,
    ) -> SqliteRecordStore:
        return cls(settings.sqlite_dir, chain, settings.keyring(required=require_master_key),
                   key_directory=settings.sqlite_key_dir,
                   poll_interval_s=settings.watch_poll_interval_s, create=create)

    def backup(self, records_dest: Path, keys_dest: Path | None = None) -> None:
        """Consistent online copies (SQLite backup API) of the records and keys databases.
        Keep the keys copy apart from the records copy (another medium, another access list)."""
        keys_dest = keys_dest or records_dest
        records_dest.mkdir(parents=True, exist_ok=True)
        keys_dest.mkdir(parents=True, exist_ok=True)
        with self.tables._lock:
            _backup_db(self.tables.connection, records_dest / "records.sqlite3")
            with self.keys._lock:
                _backup_db(self.keys._conn, keys_dest / "keys.sqlite3")
        (records_dest / "chain.json").write_text(json.dumps(self.chain.canonical(), indent=2))


def _backup_db(source: sqlite3.Connection, path: Path) -> None:
    path.unlink(missing_ok=True)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()


def restore_sqlite(
    settings: RecordsSettings,
    chain: ChainIdentity,
    records_src: Path,
    keys_src: Path | None = None,
) -> int:
    """Put a backup in place (the store must be closed), then re-apply the erasure journal so
    records erased after the backup stay erased. Returns how many keys that destroyed."""
    keys_src = keys_src or records_src
    namespace = chain.namespace
    directory = settings.sqlite_dir / namespace
    key_directory = (settings.sqlite_key_dir or settings.sqlite_dir) / namespace
    directory.mkdir(parents=True, exist_ok=True)
    key_directory.mkdir(parents=True, exist_ok=True)
    for src, dest, name in ((records_src, directory, "records.sqlite3"),
                            (keys_src, key_directory, "keys.sqlite3")):
        for suffix in ("", "-wal", "-shm"):
            (dest / (name + suffix)).unlink(missing_ok=True)
        shutil.copyfile(src / name, dest / name)
    # erasing needs no master key: destroying a key never unwraps it
    store = SqliteRecordStore(settings.sqlite_dir, chain, None,
                              key_directory=settings.sqlite_key_dir)
    try:
        return store.reapply_erasures()
    finally:
        store.close()
