"""`pulseledger records …`: key management, erasure, backup and restore of the record store."""

from __future__ import annotations

import os
from pathlib import Path

import click

from services.records import RecordsSettings, open_store
from services.records.settings import decode_master_key, write_master_key_file


@click.group("records")
def records() -> None:
    """Encrypted record store (settings: PULSELEDGER_RECORDS_*)."""


@records.command("info")
def info() -> None:
    """Backend and chain namespace in use (no record content)."""
    settings = RecordsSettings()
    with open_store(settings) as store:
        click.echo(f"backend: {settings.backend}")
        click.echo(f"chain namespace: {store.chain.namespace}")
        click.echo(f"windows not yet anchored: {len(store.pending_unbatched(100_000))}")


@records.command("new-master-key")
@click.argument("path", type=click.Path(path_type=Path))
def new_master_key(path: Path) -> None:
    """Write a fresh random 32-byte master key (base64) to PATH, mode 0600 (never overwrites)."""
    write_master_key_file(path, os.urandom(32))
    click.echo(f"wrote {path}")


@records.command("rotate-master-key")
@click.option("--new-key-file", type=click.Path(exists=True, path_type=Path), required=True)
def rotate_master_key(new_key_file: Path) -> None:
    """Re-wrap every record key under the key in NEW_KEY_FILE (ciphertexts untouched).

    Afterwards point PULSELEDGER_RECORDS_MASTER_KEY_FILE at the new file; keep the old one in
    PULSELEDGER_RECORDS_PREVIOUS_MASTER_KEY_FILES until every process has restarted."""
    new_key = decode_master_key(new_key_file.read_text())
    with open_store() as store:
        count = store.rotate_master_key(new_key)
    click.echo(f"re-wrapped {count} record keys")


@records.command("erase")
@click.argument("record_id")
def erase(record_id: str) -> None:
    """Crypto-shred one record (window, bundle or dead letter): its key is destroyed."""
    with open_store() as store:
        store.erase(record_id)
    click.echo("erased")


@records.command("reapply-erasures")
def reapply_erasures() -> None:
    """Erase again what the erasure journal lists (run after any restore)."""
    with open_store() as store:
        click.echo(f"destroyed {store.reapply_erasures()} restored keys")


@records.command("backup")
@click.argument("records_dest", type=click.Path(path_type=Path))
@click.option("--keys-dest", type=click.Path(path_type=Path), help="Keep keys apart (advised).")
def backup(records_dest: Path, keys_dest: Path | None) -> None:
    """Online backup of the SQLite store (records and keys databases)."""
    settings = RecordsSettings()
    if settings.backend != "sqlite":
        raise click.ClickException("Firestore: use managed export/import (docs/records.md)")
    with open_store(settings) as store:
        store.backup(records_dest, keys_dest)
    click.echo("backup written")


@records.command("restore")
@click.argument("records_src", type=click.Path(exists=True, path_type=Path))
@click.option("--keys-src", type=click.Path(exists=True, path_type=Path))
def restore(records_src: Path, keys_src: Path | None) -> None:
    """Restore a SQLite backup (stop every writer first), then re-apply the erasure journal."""
    from services.records.sqlite_store import restore_sqlite

    settings = RecordsSettings()
    destroyed = restore_sqlite(settings, settings.chain_identity(), records_src, keys_src)
    click.echo(f"restored; {destroyed} keys erased again from the journal")
