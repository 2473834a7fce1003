"""`pulseledger market …` (the custodian), `pulseledger buyer fetch` and `pulseledger verify`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click


@click.group()
def market() -> None:
    """Sellable bundles: the custodian that seals and registers them."""


@market.command()
def custodian() -> None:
    """Seal one bundle per authorising patient, priced class and closed period; register it."""
    from services.market.service import run_custodian

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    sys.exit(run_custodian())


@market.command(name="export")
@click.option("--gateway", "gateway_url", required=True, help="The data gateway's URL.")
@click.option("--from", "start", required=True, type=click.DateTime(),
              help="Start of the period (UTC), e.g. 2026-12-01T00:00:00.")
@click.option("--to", "end", required=True, type=click.DateTime(), help="End (UTC, excluded).")
def export(gateway_url: str, start, end) -> None:
    """Export your own windows of a period (FHIR R4 + CSV + proofs) and register it on-chain.

    Your key comes from PULSELEDGER_PATIENT_KEY (never the command line); the chain from
    PULSELEDGER_CHAIN_RPC_URL and PULSELEDGER_CHAIN_DEPLOYMENTS."""
    import os
    from datetime import UTC

    from eth_account import Account

    from services.chain.connection import Chain
    from services.market.exports import make_export
    from services.stack.gateway_client import GatewayClient, GatewayRefused

    key = os.environ.get("PULSELEDGER_PATIENT_KEY")
    if not key:
        raise click.ClickException("set PULSELEDGER_PATIENT_KEY to your wallet's private key")
    ledger = Chain.open().ledger
    from_ms, to_ms = (int(t.replace(tzinfo=UTC).timestamp() * 1000) for t in (start, end))
    try:
        made = make_export(GatewayClient(gateway_url), ledger, Account.from_key(key), from_ms,
                           to_ms)
    except GatewayRefused as refusal:
        raise click.ClickException(str(refusal)) from None
    click.echo(f"export {made.record_id}: "
               + ("made before" if made.windows is None else f"{made.windows} windows")
               + (f"; registered in {made.tx}" if made.tx else "; registered before"))


@click.group()
def buyer() -> None:
    """What a programmatic buyer runs."""


@buyer.command()
@click.option("--gateway", "gateway_url", required=True, help="The data gateway's URL.")
@click.option("--record", "record_id", required=True, help="The record id (0x + 64 hex).")
@click.option("--purchase", "purchase_id", required=True, type=int, help="Your purchase id.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option("--log-access/--no-log-access", default=True, show_default=True,
              help="Send logAccess first and wait for the gateway's confirmations.")
@click.option("--confirmations", type=int, default=2, show_default=True)
def fetch(gateway_url: str, record_id: str, purchase_id: int, out: Path, log_access: bool,
          confirmations: int) -> None:
    """Fetch a bought record: wrapped key + ciphertext, decrypted and checked here.

    The buyer's key comes from PULSELEDGER_BUYER_KEY (never the command line); the chain from
    PULSELEDGER_CHAIN_RPC_URL and PULSELEDGER_CHAIN_DEPLOYMENTS."""
    import os

    from eth_account import Account

    from services.chain.connection import Chain
    from services.market import buyer as buying
    from services.stack.gateway_client import GatewayClient

    key = os.environ.get("PULSELEDGER_BUYER_KEY")
    if not key:
        raise click.ClickException("set PULSELEDGER_BUYER_KEY to the buyer's private key")
    account = Account.from_key(key)
    ledger = Chain.open().ledger
    try:
        if log_access:
            tx = buying.log_access(ledger, account, record_id, purchase_id, confirmations)
            click.echo(f"access logged in {tx}")
        fetched = buying.fetch(GatewayClient(gateway_url), ledger, account, record_id,
                               purchase_id)
    except buying.FetchFailed as failure:
        raise click.ClickException(str(failure)) from None
    for path in buying.save(fetched, out):
        click.echo(f"wrote {path}")
    click.echo(f"verified: {fetched.verdict.windows} windows under {fetched.verdict.roots} "
               "anchored batch root(s); ciphertext matches the registry")


@click.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sealed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The sealed bytes (<stem>.sealed): also check them against the registry.")
def verify(bundle: Path, sealed: Path | None) -> None:
    """Check a downloaded bundle (<stem>.bundle.json) against the chain: every window's inclusion
    proof leads to an anchored batch root. Exit 1 on any problem."""
    from services.chain.connection import Chain
    from services.market import registration
    from services.market.buyer import anchored_on
    from services.market.verify import check_sealed, verify_document

    try:
        document = json.loads(bundle.read_text())
    except ValueError:
        raise click.ClickException(f"{bundle} is not JSON") from None
    ledger = Chain.open().ledger
    verdict = verify_document(document, anchored_on(ledger))
    problems = list(verdict.problems)
    if sealed is not None:
        registered = registration.registration_of(ledger, document.get("bundle_id", "0x"))
        problem = check_sealed(sealed.read_bytes(), registered.ciphertext_hash)
        if problem:
            problems.append(problem)
    for problem in problems:
        click.echo(f"FAIL {problem}", err=True)
    if problems or not verdict.ok:
        sys.exit(1)
    click.echo(f"OK {verdict.windows} windows under {verdict.roots} anchored batch root(s)"
               + ("; sealed bundle matches the registry" if sealed else ""))
