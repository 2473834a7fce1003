"""The status board's market figures read the contract's own events: the topics it counts are the
compiled ABI's (the figures themselves are checked on a real stack: tests/e2e/test_demo_sale.py)."""

from __future__ import annotations

from eth_utils import event_abi_to_log_topic

from services.stack.status_board import MARKET_TOPICS
from tests.gateway.chain_helpers import pulse_ledger_type


def test_market_topics__are_the_contracts_events():
    topics = {"0x" + event_abi_to_log_topic(e).hex(): e["name"]
              for e in pulse_ledger_type()["abi"] if e["type"] == "event"}
    assert {topics[t] for t in MARKET_TOPICS} == {"PurchasePaid", "RecordAdded",
                                                  "DeliveryConfirmed"}
