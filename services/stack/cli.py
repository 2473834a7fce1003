"""`pulseledger up`: bring the whole system up on embedded defaults, show its live status, and
stop everything cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.notify.links import pairing_link
from services.stack.anvil import AnvilError
from services.stack.components import dapp_url, devices_url, gateway_url
from services.stack.config import ConfigError, apply_config
from services.stack.demo_accounts import demo_accounts, spare_pairing_code, spare_wearable
from services.stack.deploy import DeployError
from services.stack.local_stack import Stack, StackError
from services.stack.settings import StackSettings


class Interrupted(Exception):
    pass


@click.command()
@click.option("--once", is_flag=True, help="Bring everything up, wait until ready, print the "
                                           "status, then stop.")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              default=Path("pulseledger.toml"), show_default=True,
              help="TOML file: one table per service ([stack], [records], [notify], ...).")
@click.option("--env-file", type=click.Path(path_type=Path), default=Path(".env"),
              show_default=True, help="PULSELEDGER_* variables (the real environment wins).")
def up(once: bool, config_file: Path, env_file: Path) -> None:
    """Start the chain (or connect to one), deploy once, start every service, show live status."""
    try:
        apply_config(config_file, env_file)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    settings = StackSettings()
    console = Console()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def interrupted() -> None:
        if stop.is_set():
            raise Interrupted

    stack = Stack(settings)
    failure = None
    try:
        started = time.monotonic()
        _bring_up(stack, console, interrupted)
        links = _links(stack)
        console.print(_chain_table(stack))
        for line in _people_lines(stack, links):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        if once:
            console.print(stack.board.table("PulseLedger", links))
        else:
            console.print(f"[bold]Up.[/] dapp: {links.get('dapp', '(no frontend build)')}  "
                          f"gateway: {links['gateway']}  outbox: {links['outbox']}")
            console.print("Ctrl-C stops everything (the chain state is kept).")
            if console.is_terminal:
                with Live(stack.board.table("PulseLedger", links), console=console,
                          refresh_per_second=2) as live:
                    while not stop.wait(settings.status_interval_s):
                        stack.tick()
                        live.update(stack.board.table("PulseLedger", links))
            else:  # a pipe, a log file, CI: a plain line every few seconds, nothing redrawn
                while not stop.wait(settings.plain_status_interval_s):
                    stack.tick()
                    print(stack.board.line(time.monotonic() - started), flush=True)
    except Interrupted:
        console.print("interrupted")
    except (StackError, DeployError, AnvilError) as error:
        failure = error
    finally:
        with console.status("stopping every component (the chain state is saved)"):
            stack.stop()
    if failure is not None:
        console.print(f"[red]{failure}[/]")
        raise SystemExit(1)
    console.print("Stopped cleanly.")


def _bring_up(stack: Stack, console: Console, interrupted) -> None:
    if not console.is_terminal:  # no progress bars to redraw: one line per step
        def step(text: str) -> None:
            interrupted()
            print(f"… {text}", flush=True)

        stack.start_chain(step)
        stack.build_dapp(step)
        step("starting the services")
        stack.start_services()
        step("waiting until every service is healthy")
        stack.wait_ready(on_tick=interrupted)
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console) as progress:
        current: list[int] = []

        def step(text: str) -> None:
            interrupted()
            if current:
                progress.update(current[-1], completed=1)
            current.append(progress.add_task(text, total=1))

        stack.start_chain(step)
        stack.build_dapp(step)
        step("starting the services")
        stack.start_services()
        step("waiting until every service is healthy")
        stack.wait_ready(on_tick=interrupted)
        progress.update(current[-1], completed=1)


def _links(stack: Stack) -> dict[str, str]:
    settings = stack.settings
    links = {"gateway": gateway_url(settings, stack.ports),
             "outbox": str(settings.outbox_dir.resolve()),
             "logs": str(settings.log_dir.resolve())}
    if any(s.spec.name == "dapp" for s in stack.supervisor.children.values()):
        links = {"dapp": dapp_url(settings, stack.ports), **links}
    if any(s.spec.name == "devices" for s in stack.supervisor.children.values()):
        links["devices"] = devices_url(settings, stack.ports) + "/v1/readings"
    return links


def _chain_table(stack: Stack) -> Table:
    chain, settings = stack.chain, stack.settings
    table = Table(title="Chain", show_header=False)
    table.add_row("rpc", chain.endpoint.rpc_url)
    table.add_row("chain id", str(chain.deployments.chain_id))
    if chain.endpoint.local:
        table.add_row("chain state", str(settings.chain_state_file))
    for name, contract in chain.deployments.contracts.items():
        table.add_row(name, f"{contract.address} ({chain.verdict}, block {contract.block})")
    table.add_row("deployments file", str(settings.deployments_file))
    return table


def _people_lines(stack: Stack, links: dict[str, str]) -> list[str]:
    """Whom to act as in the dapp. One line each (a wrapped table would break the keys a
    developer copies): import a key into a browser wallet to act as that person."""
    local = stack.chain.endpoint.local
    dapp = links.get("dapp", "the dapp").rstrip("/")
    lines = ["Demo people" + (" (public test keys of this local chain: import one into a browser "
                              "wallet to act as that person; never use them elsewhere):"
                              if local else " (keys are not shown off the local chain):")]
    for account in demo_accounts(stack.settings, local, dapp):
        key = f"  key {account.key}" if account.key else ""
        lines.append(f"  {account.who:<10} {account.address}{key}  {account.note}")
    spare = spare_wearable(stack.settings)
    if spare:
        code = spare_pairing_code(stack.settings, int(time.time() * 1000))
        lines.append(f"  a new patient: any fresh wallet, then pair the spare wearable {spare} at "
                     f"{pairing_link(dapp, spare, code)} (it streams once paired; the link's "
                     "code is the device's consent, good for 7 days)")
    else:
        lines.append(f"  a new patient: any fresh wallet, then {dapp}/#/onboarding")
    return lines
