"""Assembles and runs the listener daemons: relay, updater, or both in one process.

Exit codes: 0 clean stop (SIGTERM/SIGINT), 75 the node stayed unreachable (a supervisor restarts
us), 78 configuration error (restarting will not help)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass

from services.chain.connection import Chain
from services.chain.deployments import DeploymentsError
from services.chain.settings import ChainSettings
from services.listeners.chain_reader import ChainReader, ChainUnavailable
from services.listeners.contacts import ContactDirectory, open_contacts
from services.listeners.daemon_metrics import serve_status
from services.listeners.email_delivery import Backoff, Deliverer
from services.listeners.events import LogDecoder
from services.listeners.handler import Handler
from services.listeners.log_follower import Runner
from services.listeners.relay import RelayHandler
from services.listeners.settings import ListenerSettings
from services.listeners.state import StateMismatch, StateStore
from services.listeners.updater import UpdaterHandler
from services.notify import Notifier, NotifySettings, open_notifier
from services.runtime.health_server import HealthServer

log = logging.getLogger("services.listeners")

EXIT_OK, EXIT_NODE_DOWN, EXIT_CONFIG = 0, 75, 78
DAEMONS = ("relay", "updater")


class ConfigurationError(Exception):
    pass


class NodeDown(Exception):
    pass


@dataclass
class Unit:
    name: str
    runner: Runner
    store: StateStore
    deliverer: Deliverer | None


class Daemon:
    def __init__(self, units: list[Unit], settings: ListenerSettings) -> None:
        self.units = units
        self.settings = settings
        self.stop = threading.Event()
        self.rpc_faults = 0
        self.last_good_poll: float | None = None  # monotonic time, for /healthz
        self.status_server: HealthServer | None = None
        self.owns_contacts = False

    def step(self) -> None:
        """One poll of every unit, then due deliveries. Raises ChainUnavailable on RPC faults
        (after delivering: mail does not wait for the node)."""
        fault: ChainUnavailable | None = None
        for unit in self.units:
            try:
                unit.runner.poll()
            except ChainUnavailable as error:
                fault = fault or error
            if unit.deliverer is not None and not self.stop.is_set():
                unit.deliverer.flush_digests()
                unit.deliverer.deliver_due(self.stop)
        if fault is not None:
            raise fault

    def run(self) -> None:
        s = self.settings
        failing_since: float | None = None
        rpc_delay = s.rpc_retry_initial_s
        while not self.stop.is_set():
            wait = s.poll_interval_s
            try:
                self.step()
                failing_since, rpc_delay = None, s.rpc_retry_initial_s
                self.last_good_poll = time.monotonic()
            except ChainUnavailable as error:
                self.rpc_faults += 1
                now = time.monotonic()
                failing_since = failing_since or now
                log.warning("rpc fault (%s); retrying in %.2fs", type(error).__name__, rpc_delay)
                if now - failing_since >= s.node_down_after_s:
                    raise NodeDown(f"node unreachable for {now - failing_since:.1f}s") from error
                wait, rpc_delay = rpc_delay, min(s.rpc_retry_max_s, rpc_delay * 2)
            self.stop.wait(wait)

    def serve_status(self, port: int) -> int:
        """Start /healthz and /metrics on 127.0.0.1:port (0: a free port); returns the port."""
        self.status_server = serve_status(self, port)
        return self.status_server.port

    def close(self) -> None:
        if self.status_server is not None:
            self.status_server.stop()
        for unit in self.units:
            if unit.deliverer is not None:
                unit.deliverer.notifier.close()
                if self.owns_contacts:  # opened by build(), not handed in
                    close_contacts = getattr(unit.deliverer.contacts, "close", None)
                    if close_contacts is not None:
                        close_contacts()
            unit.store.close()


def build(which: str, settings: ListenerSettings | None = None,
          chain_settings: ChainSettings | None = None, notifier: Notifier | None = None,
          contacts: ContactDirectory | None = None) -> Daemon:
    settings = settings or ListenerSettings()
    # PULSELEDGER_CHAIN_*; PULSELEDGER_LISTENERS_CONFIRMATIONS, the older name, wins if set.
    chain_settings = (chain_settings or ChainSettings()).for_service(
        settings, {"confirmations": "confirmations"})
    try:
        # No hidden retries inside web3: the runner owns retries, so a fault is seen and counted.
        # The chain is checked below, with RPC faults counted as such (exit 75, not 78).
        opened = Chain.open(chain_settings, check_chain_id=False,
                            exception_retry_configuration=None)
    except DeploymentsError as error:
        raise ConfigurationError(str(error)) from error
    deployments = opened.deployments
    chain = ChainReader(opened.w3, opened.ledger.address)
    chain_id, genesis = chain.chain_id(), chain.block(0)
    if chain_id != deployments.chain_id or genesis is None or (
            genesis.hash.lower() != deployments.genesis_hash.lower()):
        raise ConfigurationError(
            f"the RPC serves another chain than the deployments file (chain id {chain_id})")
    decoder = LogDecoder(opened.ledger, chain_id)
    start_block = settings.start_block or deployments.contracts["PulseLedger"].block
    names = DAEMONS if which == "all" else (which,)
    units = []
    for name in names:
        store = StateStore(settings.state_file(name), settings.sqlite_synchronous)
        try:
            store.bind_identity({"chain_id": str(chain_id), "genesis_hash": genesis.hash.lower(),
                                 "contract": chain.address.lower()})
        except StateMismatch as error:
            raise ConfigurationError(str(error)) from error
        handler: Handler = (RelayHandler(settings.access_notifications == "digest")
                            if name == "relay" else UpdaterHandler())
        runner = Runner(chain, decoder, store, handler, confirmations=chain_settings.confirmations,
                        start_block=start_block, max_blocks_per_query=settings.max_blocks_per_query,
                        reorg_window_blocks=settings.reorg_window_blocks)
        deliverer = None
        if name == "relay":
            deliverer = Deliverer(
                store, notifier or open_notifier(NotifySettings()),
                contacts or open_contacts(deployments),
                backoff=Backoff(settings.retry_initial_s, settings.retry_multiplier,
                                settings.retry_max_s),
                max_attempts=settings.max_attempts, batch=settings.delivery_batch,
                dapp_url=settings.dapp_url, digest_interval_s=settings.digest_interval_s)
        units.append(Unit(name, runner, store, deliverer))
    daemon = Daemon(units, settings)
    daemon.owns_contacts = contacts is None
    return daemon


def run_daemon(which: str, contacts: ContactDirectory | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    try:
        daemon = build(which, contacts=contacts)
    except ConfigurationError as error:
        log.error("configuration error: %s", error)
        return EXIT_CONFIG
    except ChainUnavailable as error:
        log.error("node unreachable at start: %s", type(error).__name__)
        return EXIT_NODE_DOWN

    def request_stop(signum, _frame):
        log.info("signal %d: finishing the current step, then stopping", signum)
        daemon.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if daemon.settings.status_port is not None:
        port = daemon.serve_status(daemon.settings.status_port)
        log.info("status on http://127.0.0.1:%d (/healthz, /metrics)", port)
    log.info("ready: following the chain (%s)", which)
    try:
        daemon.run()
    except NodeDown as error:
        log.error("%s: exiting for the supervisor to restart us", error)
        return EXIT_NODE_DOWN
    finally:
        daemon.close()
    log.info("stopped cleanly")
    return EXIT_OK


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which not in (*DAEMONS, "all"):
        sys.exit(f"usage: python -m services.listeners.daemon relay|updater|all (got {which!r})")
    sys.exit(run_daemon(which))
