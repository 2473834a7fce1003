"""`pulseledger blobs …`: content identifiers and the configured blob store."""

from __future__ import annotations

from pathlib import Path

import click

from services.blobs import compute_cid, open_blob_store


@click.group("blobs")
def blobs() -> None:
    """Content-addressed blobs (settings: PULSELEDGER_BLOBS_*)."""


@blobs.command("cid")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cid(path: Path) -> None:
    """The CIDv1 Kubo (profile unixfs-v1-2025) gives the file's bytes."""
    click.echo(compute_cid(path.read_bytes()))


@blobs.command("put")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def put(path: Path) -> None:
    """Store a file; prints its CID."""
    store = open_blob_store()
    try:
        click.echo(store.put(path.read_bytes()))
    finally:
        store.close()


@blobs.command("get")
@click.argument("cid")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def get(cid: str, out: Path) -> None:
    """Fetch a blob, verified against its CID, into OUT."""
    store = open_blob_store()
    try:
        out.write_bytes(store.get(cid))
    finally:
        store.close()
