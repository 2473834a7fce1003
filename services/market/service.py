"""`pulseledger market custodian`: the custodian loop as a service (SIGTERM/SIGINT finish the
round, then stop). Its chain and store are the ones every service uses: PULSELEDGER_CHAIN_* for
the RPC and deployments file, PULSELEDGER_RECORDS_* for the store of that deployment."""

from __future__ import annotations

import logging
import signal
import threading

from eth_account import Account
from prometheus_client import CollectorRegistry, Counter

from services.blobs import open_blob_store
from services.chain.connection import Chain
from services.chain.settings import ChainSettings
from services.market.custodian import Custodian
from services.market.settings import MarketSettings
from services.records import RecordsSettings, open_store
from services.runtime.health_server import HealthServer, always_healthy, registry_metrics

log = logging.getLogger("pulseledger.market")


def run_custodian(settings: MarketSettings | None = None, stop: threading.Event | None = None,
                  chain: ChainSettings | None = None) -> int:
    settings = settings or MarketSettings()
    if settings.custodian_key is None:
        log.error("no custodian key: set PULSELEDGER_MARKET_CUSTODIAN_KEY")
        return 2
    stop = stop or _stop_on_signals()
    opened = Chain.open(chain or ChainSettings())
    account = Account.from_key(settings.custodian_key.get_secret_value())
    metrics = _serve_status(settings.status_port)
    with open_store(RecordsSettings(), opened.identity) as store:
        custodian = Custodian(store, opened.ledger, account, settings,
                              deployment_block=opened.deployments.deployment_block,
                              blobs=open_blob_store(),
                              log_block_range=opened.settings.log_block_range)
        log.info("custodian %s started (period %d s)", account.address, settings.period_s)
        while not stop.is_set():
            tally = custodian.run_once()
            if metrics:
                metrics["sealed"].inc(tally.sealed)
                metrics["registered"].inc(tally.registered)
                metrics["failed"].inc(len(tally.errors))
            if tally.registered or tally.errors:
                log.info("round: %d sealed, %d registered, %d failed", tally.sealed,
                         tally.registered, len(tally.errors))
            stop.wait(settings.poll_interval_s)
    return 0


def _serve_status(port: int) -> dict[str, Counter] | None:
    """/healthz answers ok while the process lives; the counters on /metrics say whether rounds
    succeed."""
    if not port:
        return None
    registry = CollectorRegistry()
    metrics = {name: Counter(f"pulseledger_market_bundles_{name}", help_text, registry=registry)
               for name, help_text in (("sealed", "Bundles sealed"),
                                       ("registered", "Bundles registered on-chain"),
                                       ("failed", "Patient rounds that failed"))}
    HealthServer(port, health=always_healthy, metrics=registry_metrics(registry)).start()
    return metrics


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        log.info("signal %d: finishing the round, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
