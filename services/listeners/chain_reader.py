"""The few chain reads a listener needs, with RPC failures surfaced as one exception type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from eth_utils import to_hex
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception


class ChainUnavailable(Exception):
    """The RPC did not answer properly (error, timeout, dropped connection, garbage)."""


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    timestamp: int


class ChainReader:
    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except (BlockNotFound, KeyError):
            raise
        except (requests.RequestException, Web3Exception, OSError, ValueError, TypeError) as error:
            raise ChainUnavailable(f"{type(error).__name__}: {str(error)[:200]}") from error

    def chain_id(self) -> int:
        return self._call(lambda: self.w3.eth.chain_id)

    def head(self) -> int:
        return self._call(lambda: self.w3.eth.block_number)

    def block(self, number: int) -> BlockRef | None:
        """The canonical block at this height, or None if the chain is not that long (any more)."""
        try:
            block = self._call(self.w3.eth.get_block, number)
        except BlockNotFound:
            return None
        if block is None:
            return None
        return BlockRef(block["number"], to_hex(block["hash"]), block["timestamp"])

    def logs(self, from_block: int, to_block: int) -> list[Any]:
        logs = self._call(self.w3.eth.get_logs, {
            "address": self.address, "fromBlock": from_block, "toBlock": to_block})
        for log in logs:
            if log.get("removed") or not (from_block <= log["blockNumber"] <= to_block):
                raise ChainUnavailable("node returned a log outside the asked range or removed")
        return list(logs)
