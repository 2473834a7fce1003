"""`pulseledger listen ...`: run the listener daemons and inspect their state."""

from __future__ import annotations

import json
import logging
import sys
import time

import click

from services.listeners.daemon import DAEMONS, EXIT_CONFIG, run_daemon
from services.listeners.settings import ListenerSettings
from services.listeners.state import DEAD, StateStore
from services.runtime.process_supervisor import ChildSpec, run_in_foreground

HEALTHY_RUN_S = 60.0  # a daemon that ran this long earns a fresh backoff


@click.group()
def listen() -> None:
    """Event listeners: the notification relay and the record-store updater."""


def _run(which: str, supervised: bool) -> None:
    if not supervised:
        sys.exit(run_daemon(which))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    settings = ListenerSettings()
    # Restarted when it dies (the node disappeared: exit 75, or a crash), never after a
    # configuration error (78) — what systemd's Restart=on-failure with
    # RestartPreventExitStatus=78 does; this makes `pulseledger listen` self-sufficient.
    daemon = ChildSpec(which, [sys.executable, "-m", "services.listeners.daemon", which],
                       final_exit_codes=frozenset({EXIT_CONFIG}))
    sys.exit(run_in_foreground(daemon, backoff_s=settings.restart_initial_s,
                               backoff_cap_s=settings.restart_max_s,
                               healthy_after_s=HEALTHY_RUN_S))


supervise_option = click.option(
    "--supervise/--no-supervise", default=True, show_default=True,
    help="Restart the daemon when it dies (e.g. the node disappeared). Use --no-supervise under "
         "systemd or another supervisor.")


@listen.command()
@supervise_option
def relay(supervise: bool) -> None:
    """Email patients and requesters about confirmed contract events."""
    _run("relay", supervise)


@listen.command()
@supervise_option
def updater(supervise: bool) -> None:
    """Keep the off-chain view of consents, purchases and accesses per patient."""
    _run("updater", supervise)


@listen.command(name="all")
@supervise_option
def all_daemons(supervise: bool) -> None:
    """Relay and updater in one process."""
    _run("all", supervise)


def _store(which: str) -> StateStore:
    settings = ListenerSettings()
    path = settings.state_file(which)
    if not path.exists():
        raise click.ClickException(f"no state for the {which} daemon at {path}")
    return StateStore(path, settings.sqlite_synchronous)


daemon_argument = click.argument("which", type=click.Choice(DAEMONS), default="relay")


@listen.command()
@daemon_argument
def status(which: str) -> None:
    """Cursor, effects by status and incidents of one daemon (JSON)."""
    store = _store(which)
    cursor = store.cursor()
    counts = dict(store.db.execute("SELECT status, COUNT(*) FROM effects GROUP BY status"))
    click.echo(json.dumps({
        "cursor": {"block": cursor.block_number, "hash": cursor.block_hash} if cursor else None,
        "events": store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0],
        "effects": counts, "incidents": len(store.incidents())}, indent=2))


@listen.command(name="dead-letters")
@daemon_argument
def dead_letters(which: str) -> None:
    """Effects that kept failing, with their last error (JSON lines, no email addresses)."""
    for row in _store(which).effects(DEAD):
        click.echo(json.dumps({"key": row.key, "kind": row.kind, "attempts": row.attempts,
                               "error": row.last_error}))


@listen.command()
@daemon_argument
def requeue(which: str) -> None:
    """Give every dead letter a fresh set of attempts."""
    click.echo(f"requeued {_store(which).requeue_dead(time.time())} dead letters")


@listen.command()
@daemon_argument
@click.option("--to-block", type=int, required=True, help="Keep what was read up to this block.")
def rewind(which: str, to_block: int) -> None:
    """Read the chain again after a block (stop the daemon first). For events dead-lettered as
    unprocessable, once their cause is fixed; emails already sent are not sent again."""
    from services.listeners.daemon import build

    daemon = build(which)
    try:
        for unit in daemon.units:
            unit.runner.rewind(to_block)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    finally:
        daemon.close()
    click.echo(f"{which}: rewound to block {to_block}; the daemon reads on from there")


@listen.command()
@daemon_argument
def incidents(which: str) -> None:
    """Deep reorgs and other incidents (JSON lines)."""
    for incident in _store(which).incidents():
        click.echo(json.dumps(incident))
