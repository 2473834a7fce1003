"""Listener benchmarks -> benchmarks/listeners.json (flat: metric -> number, unit in the name).

- email latency (the real PulseLedger, a consent request per sample): from the moment the block that gives an event its confirmation depth is mined
  to the moment the SMTP server accepted the email (relay daemon running with default settings,
  real anvil, real aiosmtpd, same clock);
- backfill: a fresh relay catching up over 10,000 blocks full of events (ingest: fetch, decode,
  fold, queue the emails, checkpoint). The blocks are filled by the test event source
  (tests/listeners/contracts/EventSource.sol), which emits PulseLedger's AccessLogged signature
  ten at a time: filling 10,000 blocks through PulseLedger's one-access-per-transaction would take
  minutes of setup for the same work on the listener's side.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from pulseledger_testkit.anvil import Anvil
from pulseledger_testkit.flows import Flow
from pulseledger_testkit.ledger import (
    EVENT_SOURCE,
    deploy_event_source,
    deploy_pulseledger,
    onboard_contacts,
)
from pulseledger_testkit.smtp_server import CapturingHandler, SmtpServer
from pulseledger_testkit.solidity import compile_contract

from services.chain.settings import ChainSettings
from services.listeners.daemon import build
from services.listeners.events import idempotency_key
from services.listeners.settings import ListenerSettings
from services.notify import NotifySettings, message_id_for, open_notifier

LATENCY_SAMPLES = 100
BACKFILL_BLOCKS = 10_000
EVENTS_PER_TX = 10
BLOCKS_PER_TX = 20


class TimedHandler(CapturingHandler):
    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.accepted_at.setdefault(self.received[-1].message_id, time.monotonic())
        return reply


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_latency(workdir: Path) -> dict[str, float]:
    anvil = Anvil().start()
    smtp = SmtpServer()
    smtp.handler = TimedHandler()
    smtp.start()
    try:
        ledger = deploy_pulseledger(anvil.url, workdir / "latency")
        flow = Flow(ledger)
        settings = ListenerSettings(state_dir=workdir / "latency-state")  # defaults otherwise
        daemon = build("relay", settings,
                       ChainSettings(rpc_url=anvil.url, deployments=ledger.deployments_file),
                       notifier=open_notifier(NotifySettings(backend="smtp", smtp_port=smtp.port)),
                       contacts=onboard_contacts(ledger, workdir / "latency"))
        runner = threading.Thread(target=daemon.run, daemon=True)
        runner.start()
        latencies = []
        jitter = random.Random(1)
        for index in range(LATENCY_SAMPLES):
            flow.request(ledger.patients[index % 3], ledger.requesters[index % 3])
            tx = flow.last_tx
            anvil.mine(settings.confirmations - 1)  # one short of the confirmation depth
            # let a poll see the unconfirmed state, then confirm at a random phase of the poll cycle
            time.sleep(0.05 + jitter.uniform(0, settings.poll_interval_s))
            message_id = message_id_for(idempotency_key(ledger.chain_id, tx, 0))
            confirmed_at = time.monotonic()
            anvil.mine(1)  # this block gives the event its confirmation depth
            deadline = time.monotonic() + 10
            while message_id not in smtp.handler.accepted_at:
                if time.monotonic() > deadline:
                    raise RuntimeError("email never arrived")
                time.sleep(0.002)
            latencies.append((smtp.handler.accepted_at[message_id] - confirmed_at) * 1000)
        daemon.stop.set()
        runner.join(timeout=10)
        daemon.close()
        return {
            "email_latency_p50_ms": round(statistics.median(latencies), 1),
            "email_latency_p99_ms": round(percentile(latencies, 0.99), 1),
            "email_latency_max_ms": round(max(latencies), 1),
            "email_latency_samples": len(latencies),
            "poll_interval_s": settings.poll_interval_s,
        }
    finally:
        smtp.stop()
        anvil.stop()


def bench_backfill(artifact: dict, workdir: Path) -> dict[str, float]:
    anvil = Anvil().start()
    try:
        ledger = deploy_event_source(anvil.url, artifact, workdir / "backfill")
        c = ledger.contract.functions
        for _ in range(BACKFILL_BLOCKS // BLOCKS_PER_TX):
            ledger.transact(c.logAccesses(ledger.patients[0], 256, EVENTS_PER_TX),
                            ledger.requesters[0])
            anvil.mine(BLOCKS_PER_TX - 1)
        settings = ListenerSettings(state_dir=workdir / "backfill-state")
        anvil.mine(settings.confirmations)  # so that the last filled block is confirmed
        daemon = build("relay", settings,
                       ChainSettings(rpc_url=anvil.url, deployments=ledger.deployments_file),
                       notifier=open_notifier(NotifySettings(outbox_dir=workdir / "outbox")),
                       contacts=onboard_contacts(ledger, workdir / "backfill"))
        unit = daemon.units[0]
        target = ledger.w3.eth.block_number - settings.confirmations
        began = time.perf_counter()
        while unit.store.cursor() is None or unit.store.cursor().block_number < target:
            unit.runner.poll()
        elapsed = time.perf_counter() - began
        blocks = target - (ledger.deployment_block - 1)
        events = len(unit.store.handled_positions())
        daemon.close()
        return {
            "backfill_blocks": blocks,
            "backfill_events": events,
            "backfill_s": round(elapsed, 3),
            "backfill_blocks_per_s": round(blocks / elapsed, 1),
            "backfill_events_per_s": round(events / elapsed, 1),
        }
    finally:
        anvil.stop()


def main() -> None:
    artifact = compile_contract(EVENT_SOURCE, "EventSource")
    with tempfile.TemporaryDirectory() as folder:
        results = {**bench_latency(Path(folder)), **bench_backfill(artifact, Path(folder))}
    out = ROOT / "benchmarks" / "listeners.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
