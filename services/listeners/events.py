"""Decoded contract events, keyed for idempotency by (chain id, tx hash, log index)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_hex
from web3.contract import Contract


@dataclass(frozen=True)
class ChainEvent:
    chain_id: int
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int

    @property
    def key(self) -> str:
        return idempotency_key(self.chain_id, self.tx_hash, self.log_index)


def idempotency_key(chain_id: int, tx_hash: str, log_index: int) -> str:
    return f"{chain_id}:{tx_hash.lower()}:{log_index}"


def plain(value: Any) -> Any:
    """JSON-friendly: bytes as 0x-hex, addresses lower-case (the record store's form)."""
    if isinstance(value, bytes | bytearray):
        return to_hex(value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class LogDecoder:
    """Turns raw logs of one contract into ChainEvents; logs of unknown events are kept by name."""

    def __init__(self, contract: Contract, chain_id: int) -> None:
        self.chain_id = chain_id
        self._by_topic = {}
        for entry in contract.abi:
            if entry.get("type") == "event" and not entry.get("anonymous"):
                event = contract.events[entry["name"]]()
                self._by_topic[_topic_of(entry)] = event

    def decode(self, log: Any) -> ChainEvent:
        topic0 = to_hex(log["topics"][0]) if log["topics"] else ""
        event = self._by_topic.get(topic0)
        if event is None:
            name, args = "Unknown", {"topic0": topic0}
        else:
            decoded = event.process_log(log)
            name, args = decoded["event"], {k: plain(v) for k, v in decoded["args"].items()}
        return ChainEvent(
            chain_id=self.chain_id,
            name=name,
            args=args,
            block_number=log["blockNumber"],
            block_hash=to_hex(log["blockHash"]),
            tx_hash=to_hex(log["transactionHash"]),
            log_index=log["logIndex"],
        )


def _topic_of(entry: dict[str, Any]) -> str:
    from eth_utils import event_abi_to_log_topic

    return to_hex(event_abi_to_log_topic(entry))
