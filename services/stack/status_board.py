"""The live status view: each component's phase, /healthz and Prometheus /metrics, and the chain's
event count, rendered as a rich table.

Counters come from the services' own /metrics (summed over components); on-chain events are counted
from the contract's logs (incrementally, from the deployment block, in pieces of
PULSELEDGER_CHAIN_LOG_BLOCK_RANGE blocks: our proxy refuses longer eth_getLogs ranges).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table
from web3 import Web3

from services.chain.log_ranges import log_ranges
from services.chain.settings import ChainSettings
from services.runtime.process_supervisor import ProcessSupervisor

# What the status view shows → the Prometheus samples (any component) that count it.
COUNTERS: dict[str, tuple[str, ...]] = {
    "readings": ("pulseledger_peers_master_readings_accepted",),
    "windows": ("pulseledger_peers_storage_windows_created",),
    "predictions": ("pulseledger_peers_prediction_windows",),
    "alerts": ("pulseledger_peers_notification_emails_sent",),
}


def read_metrics(url: str, timeout_s: float) -> dict[str, float]:
    """Sample name → value, summed over labels."""
    text = requests.get(url, timeout=timeout_s).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def probe_health(url: str, timeout_s: float) -> bool:
    try:
        return requests.get(url, timeout=timeout_s).status_code == 200
    except requests.RequestException:
        return False


# The market's story in the status: sales (PurchasePaid), bundles for sale (RecordAdded),
# deliveries and what they credited patients (DeliveryConfirmed's amount, the last data word).
MARKET_TOPICS = {
    Web3.keccak(text="PurchasePaid(uint256,address,address,uint256,uint8,uint256,uint40)").to_0x_hex(): "sales",
    Web3.keccak(text="RecordAdded(bytes32,address,uint8,uint32,bytes32,bytes32,bytes32)").to_0x_hex():
        "records",
    Web3.keccak(text="DeliveryConfirmed(uint256,address,uint256)").to_0x_hex(): "deliveries",
}


@dataclass
class ChainEvents:
    """Counts the contract's logs without re-reading the whole chain every second."""

    w3: object
    address: str
    from_block: int
    span: int = ChainSettings.model_fields["log_block_range"].default  # blocks per eth_getLogs
    count: int = 0
    market: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("records", "sales", "deliveries", "earnings_wei"), 0))

    def refresh(self) -> int:
        head = self.w3.eth.block_number
        # Piece by piece, moving on after each: a piece that fails is read again next time,
        # and nothing is counted twice.
        for start, end in log_ranges(self.from_block, head, self.span):
            self._count(self.w3.eth.get_logs({"address": self.address, "fromBlock": start,
                                              "toBlock": end}))
            self.from_block = end + 1
        return self.count

    def _count(self, logs) -> None:
        self.count += len(logs)
        for log in logs:
            kind = MARKET_TOPICS.get(log["topics"][0].to_0x_hex()) if log["topics"] else None
            if kind is not None:
                self.market[kind] += 1
            if kind == "deliveries":
                self.market["earnings_wei"] += int.from_bytes(bytes(log["data"])[-32:], "big")


@dataclass
class Status:
    health: dict[str, bool] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)
    readings_per_s: float = 0.0
    chain_events: int | None = None
    head: int | None = None
    market: dict[str, int] = field(default_factory=dict)


class StatusBoard:
    def __init__(self, supervisor: ProcessSupervisor, timeout_s: float, chain_events: ChainEvents | None):
        self.supervisor = supervisor
        self.timeout_s = timeout_s
        self.chain_events = chain_events
        self._last_readings: tuple[float, float] | None = None
        self.status = Status()

    def refresh(self) -> Status:
        status = Status()
        samples: dict[str, float] = {}
        for state in self.supervisor.children.values():
            component = state.spec
            if component.health_url:
                status.health[component.name] = state.running and probe_health(
                    component.health_url, self.timeout_s)
            if component.metrics_url and state.running:
                try:
                    for name, value in read_metrics(component.metrics_url, self.timeout_s).items():
                        samples[name] = samples.get(name, 0.0) + value
                except (requests.RequestException, ValueError):
                    pass
        for shown, names in COUNTERS.items():
            status.counters[shown] = sum(samples.get(name, 0.0) for name in names)
        now = time.monotonic()
        readings = status.counters["readings"]
        if self._last_readings is not None and now > self._last_readings[0]:
            status.readings_per_s = max(0.0, (readings - self._last_readings[1])
                                        / (now - self._last_readings[0]))
        self._last_readings = (now, readings)
        if self.chain_events is not None:
            try:
                status.chain_events = self.chain_events.refresh()
                status.head = self.chain_events.from_block - 1
                status.market = dict(self.chain_events.market)
            except Exception:  # noqa: BLE001 - a chain hiccup must not stop the view
                status.chain_events = self.chain_events.count
        self.status = status
        return status

    def ready(self) -> bool:
        """Every long-running component up and healthy; one-shot actors done."""
        for state in self.supervisor.children.values():
            if state.spec.one_shot:
                if not (state.done or (state.running and not state.spec.await_done)):
                    return False
            elif not state.running or not self.status.health.get(state.spec.name, True):
                return False
        return True

    def line(self, elapsed_s: float) -> str:
        """The status as one plain line, for output that is not a terminal (logs, pipes, CI)."""
        parts = []
        for state in self.supervisor.children.values():
            healthy = self.status.health.get(state.spec.name)
            parts.append(f"{state.spec.name} {state.phase}"
                         + (" (down)" if healthy is False and state.running else "")
                         + (f" ({state.restarts} restarts)" if state.restarts else ""))
        counters = self.status.counters
        figures = [(f"readings {counters.get('readings', 0):.0f} "
                    f"({self.status.readings_per_s:.1f}/s)"),
                   *(f"{name} {counters.get(name, 0):.0f}"
                     for name in ("windows", "predictions", "alerts"))]
        if self.status.chain_events is not None:
            figures.append(f"on-chain events {self.status.chain_events}"
                           + (f" (head {self.status.head})" if self.status.head else ""))
        figures += [f"{label} {value}" for label, value in market_figures(self.status.market)]
        minutes, seconds = divmod(int(elapsed_s), 60)
        return (f"status +{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d} | "
                f"{', '.join(parts)} | {', '.join(figures)}")

    def table(self, title: str, links: dict[str, str]) -> Table:
        table = Table(title=title, expand=False)
        table.add_column("component")
        table.add_column("state")
        table.add_column("restarts", justify="right")
        table.add_column("health")
        for state in self.supervisor.children.values():
            phase = state.phase
            colour = {"running": "green", "done": "cyan", "restarting": "yellow",
                      "failed": "red"}.get(phase, "white")
            healthy = self.status.health.get(state.spec.name)
            health = "—" if healthy is None else ("[green]ok[/]" if healthy else "[red]down[/]")
            table.add_row(state.spec.name, f"[{colour}]{phase}[/]", str(state.restarts),
                          health)
        counters = self.status.counters
        table.add_section()
        table.add_row("readings/s", f"{self.status.readings_per_s:.1f}", "", "")
        for shown in ("readings", "windows", "predictions", "alerts"):
            table.add_row(shown, f"{counters.get(shown, 0):.0f}", "", "")
        events = "—" if self.status.chain_events is None else str(self.status.chain_events)
        table.add_row("on-chain events", events, "", "")
        for label, value in market_figures(self.status.market):
            table.add_row(label, value, "", "")
        table.add_section()
        for label, value in links.items():
            table.add_row(label, value, "", "")
        return table


def market_figures(market: dict[str, int]) -> list[tuple[str, str]]:
    if not market:
        return []
    return [("bundles for sale", str(market["records"])), ("sales", str(market["sales"])),
            ("deliveries", str(market["deliveries"])),
            ("patients' earnings", f"{market['earnings_wei'] / 10**18:.4f} ETH")]
