"""`pulseledger records …`: key management, erasure, backup and restore, change-log trimming.

Every command acts on the store the services use (services/records/deployment.py: the same
settings, `pulseledger.toml` and `.env` as `pulseledger up`) or stops with a message: none opens
a fresh namespace or writes a master key file unless told to (`new-master-key`)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from services.records.base import (
    MIN_CHANGES_RETENTION_S,
    InvalidInput,
    RecordNotFound,
    RecordsError,
    StoreNotFound,
)
from services.records.deployment import Deployment, find_deployment
from services.records.settings import decode_master_key, write_master_key_file


@click.group("records")
@click.option("--deployments", type=click.Path(path_type=Path), default=None,
              help="The deployments file the services use (default: as they find it).")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              default=Path("pulseledger.toml"), show_default=True,
              help="TOML file: one table per service, as for `pulseledger up`.")
@click.option("--env-file", type=click.Path(path_type=Path), default=Path(".env"),
              show_default=True, help="PULSELEDGER_* variables (the real environment wins).")
@click.pass_context
def records(ctx: click.Context, deployments: Path | None, config_file: Path,
            env_file: Path) -> None:
    """Encrypted record store (settings: PULSELEDGER_RECORDS_*)."""
    from services.stack.config import ConfigError, apply_config

    try:
        apply_config(config_file, env_file)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    ctx.obj = deployments


def _target(ctx: click.Context) -> Deployment:
    try:
        return find_deployment(ctx.obj)
    except RecordsError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def _store(ctx: click.Context, *, master_key: bool) -> Iterator:
    """The services' store, existing already; `master_key`: the command seals or opens records."""
    from services.records import open_store

    target = _target(ctx)
    try:
        store = open_store(target.settings, target.chain, create=False,
                           require_master_key=master_key)
    except StoreNotFound as error:
        raise click.ClickException(f"{error}.\n{_elsewhere(target)}Nothing was created: check "
                                   "PULSELEDGER_RECORDS_BACKEND and its location settings, and "
                                   f"the chain ({target.chain_source}).") from None
    except (InvalidInput, RecordsError) as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:  # noqa: BLE001 - e.g. no cloud credentials: say it, no traceback
        raise click.ClickException(f"cannot open the record store: {error}") from None
    try:
        yield store
    except (RecordNotFound, InvalidInput) as error:
        raise click.ClickException(f"{error} (chain namespace {store.namespace})") from None
    except RecordsError as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()


def _elsewhere(target: Deployment) -> str:
    """The namespaces that do exist where the settings point (helps spot a wrong chain)."""
    settings = target.settings
    try:
        if settings.backend == "sqlite":
            from services.records.sqlite_tables import namespaces

            found = namespaces(settings.sqlite_dir)
        else:
            from services.records.firestore_store import clients
            from services.records.firestore_tables import namespaces

            client, key_client = clients(settings)
            try:
                found = namespaces(client, settings.firestore_prefix)
            finally:
                client.close()
                if key_client is not None:
                    key_client.close()
    except Exception:  # noqa: BLE001 - only a hint: the main message stands without it
        return ""
    if not found:
        return "There is no record store there at all.\n"
    lines = "".join(f"  {n['namespace']} (chain id {n.get('chain_id', '?')})\n" for n in found)
    return f"Chain namespaces that exist there:\n{lines}"


@records.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """Which store the services use, and its state (no record content)."""
    target = _target(ctx)
    with _store(ctx, master_key=False) as store:
        click.echo(f"backend: {target.settings.backend}")
        click.echo(f"location: {store.location()}")
        click.echo(f"chain namespace: {store.namespace} (chain id {store.chain.chain_id}, "
                   f"from {target.chain_source})")
        keyring = store.envelope.keyring
        if keyring is None:
            click.echo("master key: none configured (erasure works; reading and rotation need it)")
        else:
            click.echo(f"master key id: {keyring.current_id} ({_key_match(store)})")
        pending = store.pending_count(1000)
        click.echo(f"windows awaiting an anchored batch: {pending if pending < 1000 else '1000+'}")
        flagged = store.flagged_windows(100)
        click.echo(f"flagged windows (integrity): {len(flagged) if len(flagged) < 100 else '100+'}")
        for meta in flagged:
            click.echo(f"  {meta.record_id} {meta.flag}")


def _key_match(store) -> str:
    sample = next(iter(store.keys.scan()), None)
    if sample is None:
        return "no record keys stored yet"
    if store.envelope.keyring.knows(sample.kek_id):
        return "the store's keys are wrapped by it"
    return (f"NOT the key of this store's records (they carry key id {sample.kek_id}): "
            "point PULSELEDGER_RECORDS_MASTER_KEY_FILE at the services' key")


@records.command("new-master-key")
@click.argument("path", type=click.Path(path_type=Path))
def new_master_key(path: Path) -> None:
    """Write a fresh random 32-byte master key (base64) to PATH, mode 0600 (never overwrites)."""
    try:
        write_master_key_file(path, os.urandom(32))
    except FileExistsError:
        raise click.ClickException(f"{path} exists: a master key is never overwritten") from None
    click.echo(f"wrote {path}")


@records.command("rotate-master-key")
@click.option("--new-key-file", type=click.Path(exists=True, path_type=Path), required=True)
@click.pass_context
def rotate_master_key(ctx: click.Context, new_key_file: Path) -> None:
    """Re-wrap every record key under the key in NEW_KEY_FILE (ciphertexts untouched).

    Afterwards point PULSELEDGER_RECORDS_MASTER_KEY_FILE at the new file; keep the old one in
    PULSELEDGER_RECORDS_PREVIOUS_MASTER_KEY_FILES until every process has restarted."""
    try:
        new_key = decode_master_key(new_key_file.read_text())
    except InvalidInput as error:
        raise click.ClickException(f"{new_key_file}: {error}") from None
    with _store(ctx, master_key=True) as store:
        count = store.rotate_master_key(new_key)
    click.echo(f"re-wrapped {count} record keys")


@records.command("erase")
@click.argument("record_id")
@click.pass_context
def erase(ctx: click.Context, record_id: str) -> None:
    """Crypto-shred one record (window, bundle or dead letter): its key is destroyed.
    Needs no master key."""
    with _store(ctx, master_key=False) as store:
        store.erase(record_id)
        click.echo(f"erased {record_id} (chain namespace {store.namespace})")


@records.command("reapply-erasures")
@click.pass_context
def reapply_erasures(ctx: click.Context) -> None:
    """Erase again what the erasure journal lists (run after any restore)."""
    with _store(ctx, master_key=False) as store:
        click.echo(f"destroyed {store.reapply_erasures()} restored keys")


@records.command("trim-changes")
@click.option("--older-than-days", type=click.FloatRange(min=MIN_CHANGES_RETENTION_S / 86_400),
              default=7.0, show_default=True, help="Keep the changes of this many days.")
@click.pass_context
def trim_changes(ctx: click.Context, older_than_days: float) -> None:
    """Trim the change log (what live streams resume from) of old changes. The storage peers do
    it every hour (PULSELEDGER_PEERS_CHANGES_RETENTION_S); this is for a store without them."""
    before_ms = int((time.time() - older_than_days * 86_400) * 1000)
    with _store(ctx, master_key=False) as store:
        click.echo(f"trimmed {store.trim_changes(before_ms)} changes older than "
                   f"{older_than_days:g} days")


@records.command("recheck")
@click.pass_context
def recheck(ctx: click.Context) -> None:
    """Check every flagged window again (after restoring a key backup, say): sound ones are
    unflagged and go back to the anchoring queue."""
    with _store(ctx, master_key=True) as store:
        results = store.recheck_flagged()
    for record_id, flag in results.items():
        click.echo(f"{record_id} {flag or 'sound: unflagged'}")
    click.echo(f"{sum(f is None for f in results.values())} of {len(results)} flagged windows "
               "are sound again")


@records.command("backup")
@click.argument("records_dest", type=click.Path(path_type=Path))
@click.option("--keys-dest", type=click.Path(path_type=Path), help="Keep keys apart (advised).")
@click.pass_context
def backup(ctx: click.Context, records_dest: Path, keys_dest: Path | None) -> None:
    """Online backup of the SQLite store (records and keys databases)."""
    if _target(ctx).settings.backend != "sqlite":
        raise click.ClickException("Firestore: use managed export/import (docs/records.md)")
    with _store(ctx, master_key=False) as store:
        store.backup(records_dest, keys_dest)
    click.echo("backup written")


@records.command("restore")
@click.argument("records_src", type=click.Path(exists=True, path_type=Path))
@click.option("--keys-src", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def restore(ctx: click.Context, records_src: Path, keys_src: Path | None) -> None:
    """Restore a SQLite backup (stop every writer first), then re-apply the erasure journal.
    The backup must be of the chain the services use."""
    from services.records.sqlite_store import restore_sqlite

    target = _target(ctx)
    if target.settings.backend != "sqlite":
        raise click.ClickException("Firestore: use managed import, then reapply-erasures")
    try:
        backed_up = json.loads((records_src / "chain.json").read_text())
    except (OSError, ValueError) as error:
        raise click.ClickException(f"{records_src} holds no readable chain.json: {error}") from None
    if backed_up != target.chain.canonical():
        raise click.ClickException(
            f"the backup is of another chain than the services use ({target.chain_source}): "
            "nothing restored")
    destroyed = restore_sqlite(target.settings, target.chain, records_src, keys_src)
    click.echo(f"restored; {destroyed} keys erased again from the journal")
