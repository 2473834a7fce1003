"""What a daemon does with confirmed events: fold them into derived state, and name the effects.

Derived state must be a pure fold over the handled events (in chain order), so that a deep reorg
can roll it back by resetting it and folding the events that are still canonical."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod

from services.listeners.events import ChainEvent
from services.listeners.state import Effect


class Handler(ABC):
    name: str

    @abstractmethod
    def create_tables(self, db: sqlite3.Connection) -> None:
        """Create the derived-state tables (idempotent)."""

    @abstractmethod
    def reset(self, tx: sqlite3.Connection) -> None:
        """Empty the derived state (before a refold)."""

    @abstractmethod
    def apply(self, tx: sqlite3.Connection, event: ChainEvent) -> list[Effect]:
        """Fold one event into the derived state; return the effects it calls for."""

    def on_confirmed(self, tx: sqlite3.Connection, block_number: int,
                     block_timestamp: int) -> list[Effect]:
        """Called once a range up to this block is folded: for effects that depend on chain time."""
        return []
