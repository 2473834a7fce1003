"""`pulseledger operator`: the operator's key, issuing credentials, revoking them.

The private key never leaves the operator's machine; a peer gets its credential file (or the
PULSELEDGER_PEERS_CREDENTIAL value) and the public key, and every peer gets a new revocation
list by having it dropped on any one of them (it spreads by gossip)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from services.peers.admission.credential import issue
from services.peers.admission.local import peer_id_of_key_file, write_json
from services.peers.admission.operator_key import load_or_create_operator_key, public_hex
from services.peers.admission.revocation import make_list, read_list_file
from services.peers.settings import ALL_ROLES

KEY_OPTION = click.option("--key", "key_path", type=click.Path(path_type=Path), required=True,
                          help="The operator's private key file (created by init).")


@click.group("operator")
def operator() -> None:
    """Admit peers to the network: issue and revoke membership credentials."""


@operator.command("init")
@KEY_OPTION
def init(key_path: Path) -> None:
    """Create the operator key (once) and print its public key for the peers' settings."""
    click.echo(public_hex(load_or_create_operator_key(key_path)))


@operator.command("issue")
@KEY_OPTION
@click.option("--peer-id", help="The peer's libp2p id (12D3KooW...).")
@click.option("--peer-key", type=click.Path(path_type=Path), help="Or its identity file.")
@click.option("--role", "roles", multiple=True, type=click.Choice(ALL_ROLES), required=True)
@click.option("--valid-days", type=float, default=30.0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def issue_command(key_path, peer_id, peer_key, roles, valid_days, out) -> None:
    """Issue a credential; prints its serial (what `revoke --serial` takes)."""
    if bool(peer_id) == bool(peer_key):
        raise click.UsageError("give exactly one of --peer-id and --peer-key")
    if peer_key is not None:
        peer_id = peer_id_of_key_file(peer_key)
    document = issue(load_or_create_operator_key(key_path), peer_id, roles, valid_days * 86400)
    write_json(out, document)
    click.echo(document["credential"]["serial"])


@operator.command("revoke")
@KEY_OPTION
@click.option("--list", "list_path", type=click.Path(path_type=Path), required=True,
              help="The revocation list file (created if missing; its seq goes up by one).")
@click.option("--serial", "serials", multiple=True, help="A credential serial to revoke.")
@click.option("--peer-id", "peer_ids", multiple=True, help="A peer id to revoke outright.")
def revoke(key_path, list_path, serials, peer_ids) -> None:
    """Add serials or peer ids to the signed revocation list."""
    if not serials and not peer_ids:
        raise click.UsageError("name at least one --serial or --peer-id")
    key = load_or_create_operator_key(key_path)
    current = read_list_file(key.public_key(), list_path)
    document = make_list(key, current.seq + 1, current.serials | set(serials),
                         current.peer_ids | set(peer_ids))
    write_json(list_path, document)
    click.echo(json.dumps({"seq": current.seq + 1}))
