"""A small runner on log queries: follows confirmed blocks with a checkpointed cursor.

Per poll: check the cursor block is still canonical (else roll back to the fork point), then take
confirmed blocks in ranges: block(to) -> logs -> block(to) again -> cursor block again; only if
nothing moved are the range's events, their effects and the new cursor committed together."""

from __future__ import annotations

import logging
import sqlite3
import time

from services.listeners.chain_reader import ChainReader, ChainUnavailable
from services.listeners.events import UNDECODABLE, ChainEvent, LogDecoder
from services.listeners.handler import Handler
from services.listeners.state import ORPHANED, SENDING, SENT, Cursor, Effect, StateStore

log = logging.getLogger(__name__)


GROW_AFTER_SUCCESSES = 8


class LogQueryFailed(ChainUnavailable):
    """eth_getLogs failed for a range; a narrower range may pass (providers cap them)."""


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
        # Providers cap eth_getLogs (block span or result count): a failing range is halved
        # for the next try and grows back after successes.
        self.blocks_per_query = max_blocks_per_query
        self._successes = 0
        self.reorg_window_blocks = reorg_window_blocks
        # read by the status endpoint (metrics); only this thread writes them
        self.last_head = 0
        self.events_handled = 0
        self.deep_reorgs = 0
        self.unprocessable = 0
        handler.create_tables(store.db)

    # -- one poll -------------------------------------------------------------------------------
    def poll(self) -> int:
        """Process every confirmed block not processed yet; return how many blocks were taken."""
        head = self.chain.head()
        self.last_head = head
        target = head - self.confirmations
        cursor = self._cursor_or_genesis()
        if cursor is None:
            return 0
        canonical = self.chain.block(cursor.block_number)
        if canonical is None and head < cursor.block_number:
            # A node behind us (another replica, or a chain rolled back and not re-grown yet):
            # wait until it reaches our cursor, then compare hashes.
            raise ChainMoved(f"node head {head} is behind the cursor {cursor.block_number}")
        if canonical is None or canonical.hash != cursor.block_hash:
            cursor = self.roll_back_to_fork_point(cursor)
        taken = 0
        while cursor.block_number < target:
            to_block = min(cursor.block_number + self.blocks_per_query, target)
            try:
                new_cursor = self._take_range(cursor, to_block)
            except LogQueryFailed:
                span = to_block - cursor.block_number
                if span <= 1:
                    raise  # not the range: the node itself is failing
                self.blocks_per_query = span // 2
                self._successes = 0
                continue
            taken += to_block - cursor.block_number
            cursor = new_cursor
            self._successes += 1
            if self._successes >= GROW_AFTER_SUCCESSES:
                self.blocks_per_query = min(self.max_blocks_per_query, self.blocks_per_query * 2)
                self._successes = 0
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
        try:
            logs = self.chain.logs(cursor.block_number + 1, to_block)
        except ChainUnavailable as error:
            raise LogQueryFailed(str(error)) from error
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
                    for effect in self._apply_safely(tx, event, now):
                        self.store.enqueue(tx, effect, now)
                self.store.add_checkpoint(tx, event.block_number, event.block_hash)
            for effect in self.handler.on_confirmed(tx, last.number, last.timestamp):
                self.store.enqueue(tx, effect, now)
            new_cursor = Cursor(last.number, last.hash)
            self.store.set_cursor(tx, new_cursor)
            self.store.prune_checkpoints(tx, last.number - self.reorg_window_blocks)
        self.events_handled += len(events)
        if events:
            log.info("blocks %d..%d: %d events", cursor.block_number + 1, to_block, len(events))
        return new_cursor

    def _apply_safely(self, tx, event: ChainEvent, now: float) -> list[Effect]:
        """Fold one event; an event that cannot be folded (undecodable log, a handler error) is
        dead-lettered with its error instead of stopping the daemon on it forever."""
        if event.name == UNDECODABLE:
            self.store.dead_letter_event(tx, event, event.args["error"], now)
            self.unprocessable += 1
            log.error("event %s dead-lettered: its log does not match the ABI", event.key)
            return []
        tx.execute("SAVEPOINT apply_event")
        try:
            effects = self.handler.apply(tx, event)
        except sqlite3.Error:
            raise  # our storage failed, not the event: stop and retry the whole range later
        except Exception as error:  # noqa: BLE001 - isolate one bad event, keep the rest
            tx.execute("ROLLBACK TO apply_event")
            tx.execute("RELEASE apply_event")
            self.store.dead_letter_event(tx, event, f"{type(error).__name__}: {error}", now)
            self.unprocessable += 1
            log.error("event %s dead-lettered: %s", event.key, type(error).__name__)
            return []
        tx.execute("RELEASE apply_event")
        return effects

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
        rolled_back, delivered = self._roll_back(fork_point, "deep_reorg", {
            "cursor_block": cursor.block_number, "fork_point_block": fork_point.block_number,
            "confirmations": self.confirmations})
        self.deep_reorgs += 1
        log.warning("deep reorg: cursor %d rolled back to %d (%d events, %d effects delivered)",
                    cursor.block_number, fork_point.block_number, rolled_back, delivered)
        return fork_point

    def rewind(self, block_number: int) -> Cursor:
        """Operator action: forget everything after this block and read it again (after fixing
        the cause of unprocessable events, say). Emails already sent are not sent again."""
        cursor = self.store.cursor()
        if cursor is None or block_number >= cursor.block_number:
            raise ValueError(f"block {block_number} is not behind the cursor")
        if block_number < self.start_block - 1:
            raise ValueError(f"block {block_number} is before the start block {self.start_block}")
        block = self.chain.block(block_number)
        if block is None:
            raise ChainMoved(f"block {block_number} is not on the chain")
        target = Cursor(block.number, block.hash)
        self._roll_back(target, "rewind", {"cursor_block": cursor.block_number,
                                           "rewound_to_block": block_number})
        return target

    def _roll_back(self, to: Cursor, kind: str, detail: dict) -> tuple[int, int]:
        """Delete the events after `to`, cancel their unsent effects (status orphaned; they come
        back if the events do), refold the derived state from the events that remain, move the
        cursor and log the incident. One transaction."""
        with self.store.transaction() as tx:
            above = (to.block_number,)
            rolled_back = tx.execute("SELECT COUNT(*) FROM events WHERE block_number > ?",
                                     above).fetchone()[0]
            delivered = [row[0] for row in tx.execute(
                "SELECT key FROM effects WHERE status IN (?, ?) AND event_key IN "
                "(SELECT key FROM events WHERE block_number > ?)", (SENT, SENDING, *above))]
            tx.execute("UPDATE effects SET status = ? WHERE status NOT IN (?, ?) AND event_key IN "
                       "(SELECT key FROM events WHERE block_number > ?)",
                       (ORPHANED, SENT, SENDING, *above))
            tx.execute("DELETE FROM events WHERE block_number > ?", above)
            tx.execute("DELETE FROM checkpoints WHERE block_number > ?", above)
            self.handler.reset(tx)
            for event in self.store.events(tx):
                self._apply_safely(tx, event, time.time())  # their effects exist already (by key)
            self.store.set_cursor(tx, to)
            self.store.log_incident(tx, kind, {**detail, "rolled_back_events": rolled_back,
                                               "effects_already_delivered": delivered})
        return rolled_back, len(delivered)
