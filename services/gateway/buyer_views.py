"""What a buyer check decides on, read from the chain as it is at the latest block.

Every read first asks the node for its latest block (number and hash: one small JSON-RPC call,
shared by reads that arrived before it was sent, fresh_head.py).
The view — the record, the consent request, the purchase, `isInForce` of the purchase's own
request and whether the buyer's AccessLogged has the confirmations — is read pinned to that block
(EIP-1898 `{"blockHash": …}`) and kept **only while that block is still the latest**: the next
read at the same head reuses it, the first read after a new block (a revocation, a refund, a
retirement, a delivery, anything) reads again. So no decision is older than the latest block,
and a reorg that replaces the head at the same height changes its hash: read again too.
Why not a time-to-live: a revocation mined a millisecond after a read must refuse the next one.

A confirmed AccessLogged is final by the gateway's confirmation policy and is remembered across
blocks (bounded LRU; docs/gateway.md, "What buyer reads cache"). Until one is found, the logs are
searched newest piece first in pieces of `log_block_range` blocks (our proxy refuses longer
ranges, services/chain/log_ranges.py): the newest piece rides in the view's batch, older pieces
are searched only for the purchase's own buyer, so a stranger's read costs no scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from services.chain.log_ranges import log_ranges
from services.gateway.chain_reads import RawReads
from services.gateway.errors import Unavailable
from services.gateway.fresh_head import FreshShared
from services.runtime.bounded_cache import BoundedCache

ACCESS_LOGGED_TOPIC = Web3.keccak(text="AccessLogged(address,address,bytes32,uint256)").to_0x_hex()
LOG_PIECES_PER_BATCH = 10  # our proxy admits batches of up to 20 calls
VIEW_CALLS = ("getRecord", "getRequest", "getPurchase", "isInForce")


@dataclass(frozen=True)
class Head:
    number: int
    hash: str


class BuyerViews:
    def __init__(self, reads: RawReads, batch: Callable[[list], list], *, address: str,
                 deployment_block: int, confirmations: int, log_block_range: int,
                 lookback_blocks: int, cache_entries: int):
        self._reads, self._batch, self._address = reads, batch, address
        self._deployment_block, self._confirmations = deployment_block, confirmations
        self._span, self._lookback = log_block_range, lookback_blocks
        self._capacity = cache_entries
        self._confirmed_access = BoundedCache(cache_entries)
        self._lock = threading.Lock()
        self._views_at: Head | None = None  # the block the remembered views were read at
        self._views = BoundedCache(cache_entries)
        self._head = FreshShared(self._ask_head)

    def view(self, buyer: str, record_id: bytes, purchase_id: int) -> dict[str, Any]:
        head = self.head()
        key = (buyer.lower(), record_id, purchase_id)
        with self._lock:
            views = self._views if self._views_at == head else None
        cached = views.get(key) if views is not None else None
        if cached is not None:
            return cached
        view = self._read(head, buyer, record_id, purchase_id)
        self._remember(head, key, view)
        return view

    def head(self) -> Head:
        """The latest block, from a call that started after this read arrived: shared with the
        reads that arrived with it (fresh_head.py), never older than the read."""
        return self._head.get()

    def _ask_head(self) -> Head:
        [block] = self._batch([("eth_getBlockByNumber", ["latest", False])])
        if not isinstance(block, dict) or "hash" not in block:
            raise Unavailable("chain unavailable: no latest block")
        return Head(int(block["number"], 16), block["hash"])

    def _read(self, head: Head, buyer: str, record_id: bytes, purchase_id: int) -> dict[str, Any]:
        request_id, data_class = purchase_id >> 8, purchase_id & 0xFF
        reads, at = self._reads, {"blockHash": head.hash}
        calls = [reads.call("getRecord", record_id, block=at),
                 reads.call("getRequest", request_id, block=at),
                 reads.call("getPurchase", purchase_id, block=at),
                 reads.call("isInForce", request_id, data_class, block=at)]
        logged_key = (buyer.lower(), record_id, purchase_id)
        logged = logged_key in self._confirmed_access
        pieces = [] if logged else list(self._pieces(head))
        calls += [self._logs_call(buyer, record_id, piece) for piece in pieces[:1]]
        results = self._batch(calls)
        record, request, purchase, in_force = (
            reads.decode(name, result) for name, result in zip(VIEW_CALLS, results, strict=False))
        if not logged:
            logged = _matches(results[len(VIEW_CALLS):], purchase_id)
            if not logged and request["requester"].lower() == buyer.lower():
                logged = self._search(buyer, record_id, purchase_id, pieces[1:])
            if logged:  # final by the confirmation policy: never asked for again
                self._confirmed_access.add(logged_key)
        return {"record": record, "request": request, "purchase": purchase,
                "consent_in_force": bool(in_force), "data_class": data_class,
                "head": head.number, "access_logged": logged}

    def _pieces(self, head: Head):
        """Newest first: the blocks whose logs have the confirmations, from the deployment (or
        the lookback) on."""
        confirmed_to = min(head.number, head.number - self._confirmations + 1)
        start = self._deployment_block
        if self._lookback:
            start = max(start, confirmed_to - self._lookback)
        return log_ranges(start, confirmed_to, self._span, newest_first=True)

    def _search(self, buyer: str, record_id: bytes, purchase_id: int,
                pieces: list[tuple[int, int]]) -> bool:
        for i in range(0, len(pieces), LOG_PIECES_PER_BATCH):
            batch = [self._logs_call(buyer, record_id, p)
                     for p in pieces[i:i + LOG_PIECES_PER_BATCH]]
            if _matches(self._batch(batch), purchase_id):
                return True
        return False

    def _logs_call(self, buyer: str, record_id: bytes, piece: tuple[int, int]):
        # AccessLogged(address indexed accessor, address indexed patient, bytes32 indexed
        # recordId, uint256 purchaseId): raw topics, data is the purchase id.
        return "eth_getLogs", [{
            "address": self._address, "fromBlock": hex(piece[0]), "toBlock": hex(piece[1]),
            "topics": [ACCESS_LOGGED_TOPIC, "0x" + "00" * 12 + buyer[2:].lower(), None,
                       "0x" + record_id.hex()]}]

    def _remember(self, head: Head, key: tuple, view: dict[str, Any]) -> None:
        with self._lock:
            if self._views_at != head:
                if self._views_at is not None and head.number < self._views_at.number:
                    return  # a slow read of an older head: the newer views stay
                self._views_at, self._views = head, BoundedCache(self._capacity)
            self._views.add(key, view)


def _matches(answers: list[list[dict[str, Any]]], purchase_id: int) -> bool:
    return any(int(log["data"][2:66] or "0", 16) == purchase_id
               for logs in answers for log in logs)
