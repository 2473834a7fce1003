"""A small runner on log queries: follows confirmed blocks with a checkpointed cursor.

Per poll: check the cursor block is still canonical (else roll back to the fork point), then take
confirmed blocks in ranges: block(to) -> logs -> block(to) again -> cursor block again; only if
nothing moved are the range's events, their effects and the new cursor committed together."""

from __future__ import annotations

import logging
import time

from services.listeners.chain import ChainReader, ChainUnavailable
from services.listeners.events import LogDecoder
from services.listeners.handler import Handler
from services.listeners.state import ORPHANED, SENDING, SENT, Cursor, StateStore

log = logging.getLogger(__name__)


class ChainMoved(ChainUnavailable):
    """The chain changed while a range was being read; read it again on the next poll."""


class Runner:
    def __init__(self, chain: ChainReader, decoder: LogDecoder, store: StateStore,
                 handler: Handler, *, confirmations: int, start_block: int,
                 max_blocks_per_query: int, reorg_window_blocks: int) -> None:
        self.chain = chain
        self.decoder = decoder
        self.store = store
        self.handler = handler
        self.confirmations = confirmations
        self.start_block = start_block
        self.max_blocks_per_query = max_blocks_per_query
        self.reorg_window_blocks = reorg_window_blocks
        handler.create_tables(store.db)

    # -- one poll -------------------------------------------------------------------------------
    def poll(self) -> int:
        """Process every confirmed block not processed yet; return how many blocks were taken."""
        head = self.chain.head()
        target = head - self.confirmations
        cursor = self._cursor_or_genesis()
        if cursor is None:
            return 0
        canonical = self.chain.block(cursor.block_number)
        if canonical is None or canonical.hash != cursor.block_hash:
            cursor = self.roll_back_to_fork_point(cursor)
        taken = 0
        while cursor.block_number < target:
            to_block = min(cursor.block_number + self.max_blocks_per_query, target)
            taken += to_block - cursor.block_number
            cursor = self._take_range(cursor, to_block)
        return taken

    def _cursor_or_genesis(self) -> Cursor | None:
        cursor = self.store.cursor()
        if cursor is not None:
            return cursor
        before_start = self.start_block - 1
        if before_start < 0:
            raise ValueError("start_block must be at least 1 (the cursor sits on the block before)")
        block = self.chain.block(before_start)
        if block is None:
            return None
        cursor = Cursor(block.number, block.hash)
        with self.store.transaction() as tx:
            self.store.set_cursor(tx, cursor)
        return cursor

    def _take_range(self, cursor: Cursor, to_block: int) -> Cursor:
        first = self.chain.block(to_block)
        logs = self.chain.logs(cursor.block_number + 1, to_block)
        last = self.chain.block(to_block)
        anchor = self.chain.block(cursor.block_number)
        if (first is None or last is None or first.hash != last.hash or anchor is None
                or anchor.hash != cursor.block_hash):
            raise ChainMoved(f"chain moved while reading blocks {cursor.block_number + 1}..{to_block}")
        events = sorted((self.decoder.decode(entry) for entry in logs),
                        key=lambda event: (event.block_number, event.log_index))
        now = time.time()
        with self.store.transaction() as tx:
            for event in events:
                if self.store.record_event(tx, event):
                    for effect in self.handler.apply(tx, event):
                        self.store.enqueue(tx, effect, now)
                self.store.add_checkpoint(tx, event.block_number, event.block_hash)
            for effect in self.handler.on_confirmed(tx, last.number, last.timestamp):
                self.store.enqueue(tx, effect, now)
            new_cursor = Cursor(last.number, last.hash)
            self.store.set_cursor(tx, new_cursor)
            self.store.prune_checkpoints(tx, last.number - self.reorg_window_blocks)
        if events:
            log.info("blocks %d..%d: %d events", cursor.block_number + 1, to_block, len(events))
        return new_cursor

    # -- deep reorgs ----------------------------------------------------------------------------
    def roll_back_to_fork_point(self, cursor: Cursor) -> Cursor:
        """A confirmed block left the chain: the reorg was deeper than the confirmation depth.
        Roll derived state back to the newest stored block still canonical and log an incident."""
        fork_point: Cursor | None = None
        for checkpoint in self.store.checkpoints_descending():
            block = self.chain.block(checkpoint.block_number)
            if block is not None and block.hash == checkpoint.block_hash:
                fork_point = checkpoint
                break
        if fork_point is None:  # nothing we know is canonical any more: refold from the start
            block = self.chain.block(self.start_block - 1)
            if block is None:
                raise ChainMoved("the chain is shorter than the start block")
            fork_point = Cursor(block.number, block.hash)
        with self.store.transaction() as tx:
            orphaned = [dict(row) for row in tx.execute(
                "SELECT key, block_number, name FROM events WHERE block_number > ?",
                (fork_point.block_number,))]
            keys = [row["key"] for row in orphaned]
            already_sent = [row[0] for row in tx.execute(
                "SELECT key FROM effects WHERE status IN (?, ?) AND event_key IN "
                "(SELECT key FROM events WHERE block_number > ?)",
                (SENT, SENDING, fork_point.block_number))]
            tx.execute("UPDATE effects SET status = ? WHERE status NOT IN (?, ?) AND event_key IN "
                       "(SELECT key FROM events WHERE block_number > ?)",
                       (ORPHANED, SENT, SENDING, fork_point.block_number))
            tx.execute("DELETE FROM events WHERE block_number > ?", (fork_point.block_number,))
            tx.execute("DELETE FROM checkpoints WHERE block_number > ?", (fork_point.block_number,))
            self.handler.reset(tx)
            for event in self.store.events(tx):
                self.handler.apply(tx, event)  # effects of these exist already (by key)
            self.store.set_cursor(tx, fork_point)
            self.store.log_incident(tx, "deep_reorg", {
                "cursor_block": cursor.block_number,
                "fork_point_block": fork_point.block_number,
                "rolled_back_events": len(keys),
                "effects_already_delivered": already_sent,
                "confirmations": self.confirmations,
            })
        log.warning("deep reorg: cursor %d rolled back to %d (%d events, %d effects delivered)",
                    cursor.block_number, fork_point.block_number, len(keys), len(already_sent))
        return fork_point
