"""The chain's latest block for a buyer read, asked by at most one call at a time and shared only
by the reads that arrived before that call started.

Every buyer read needs the latest block (buyer_views.py), and asking for it was a fifth of the
interpreter's time of a served small read. Reads that arrive together can share one answer, but
not any answer: a call already on the wire when a read arrives may have left the node before a
revocation's block did, so sharing it would decide on a block older than the latest when the read
came in. So a read waits for a call that *starts after it arrived* — the running one's successor —
and every read waiting when that call starts shares it. A read that finds no call running makes
its own at once: one client alone pays nothing more than before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class FreshShared(Generic[T]):
    def __init__(self, fetch: Callable[[], T]):
        self._fetch = fetch
        self._cond = threading.Condition()
        self._started = 0  # calls started so far (numbered 1, 2, ...)
        self._done = 0  # the newest call that finished
        self._running = False
        self._outcome: tuple[T | None, BaseException | None] = (None, None)
        self.waiting = 0  # reads waiting for a later call (for tests and metrics)

    def get(self) -> T:
        """The answer of a call that started after this call of `get` began."""
        with self._cond:
            wanted = self._started + 1
            while self._done < wanted:
                if not self._running:
                    self._running, self._started = True, self._started + 1
                    number = self._started
                    break
                self.waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self.waiting -= 1
            else:
                return self._result()
        outcome: tuple[T | None, BaseException | None]
        try:
            outcome = (self._fetch(), None)
        except BaseException as error:  # noqa: BLE001 - handed to every read that shares the call
            outcome = (None, error)
        with self._cond:
            self._running, self._done, self._outcome = False, number, outcome
            self._cond.notify_all()
            return self._result()

    def _result(self) -> T:
        value, error = self._outcome
        if error is not None:
            raise error
        return value  # type: ignore[return-value]
