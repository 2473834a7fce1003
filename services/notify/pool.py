"""Notifiers shared by a threaded server: up to `size` of them, each used by one thread at a time.

A notifier is not thread-safe (SMTP keeps one connection and one conversation on it), and one
shared behind a lock makes every request that sends mail wait for every other one's send: with
a mail server that takes a second to answer, ten patients confirming their addresses at once
waited up to ten seconds each. A pool opens a notifier when a thread needs one and none is
free, up to `size` (each an SMTP connection, or an SDK client), and otherwise makes the thread
wait for one to come back — so the mail system sees at most `size` sends from us at a time. The
wait is bounded (`wait_s`): past it the send fails as the mail system being unavailable would,
and the caller answers "try again shortly" instead of holding its thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from services.notify.base import Notifier, NotifierUnavailable


class NotifierPool:
    def __init__(self, open_one: Callable[[], Notifier], size: int, wait_s: float = 30.0) -> None:
        if size < 1:
            raise ValueError("a notifier pool holds at least one notifier")
        self._open_one, self.size, self.wait_s = open_one, size, wait_s
        self._idle: list[Notifier] = []
        self._opened = 0
        self._closed = False
        self._changed = threading.Condition()

    @classmethod
    def of(cls, notifier: Notifier, wait_s: float = 30.0) -> NotifierPool:
        """A pool of this one notifier (one send at a time)."""
        return cls(lambda: notifier, 1, wait_s)

    @contextmanager
    def borrowed(self) -> Iterator[Notifier]:
        """A notifier for this thread alone until the block ends; NotifierUnavailable when none
        came free within `wait_s`."""
        notifier = self._take()
        try:
            yield notifier
        finally:
            self._give_back(notifier)

    def _take(self) -> Notifier:
        deadline = time.monotonic() + self.wait_s  # in all: a thread woken and beaten to a
        with self._changed:  # free notifier waits on for the rest, not for wait_s again
            while True:
                if self._closed:
                    raise RuntimeError("the notifier pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._opened < self.size:
                    self._opened += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0 or not self._changed.wait(left):
                    raise NotifierUnavailable(f"all {self.size} mail senders stayed busy for "
                                              f"{self.wait_s:g} s")
        try:  # opened outside the lock: an SDK client's set-up must not hold up the others
            return self._open_one()
        except BaseException:
            with self._changed:
                self._opened -= 1
                self._changed.notify()
            raise

    def _give_back(self, notifier: Notifier) -> None:
        with self._changed:
            closing = self._closed
            if closing:
                self._opened -= 1
            else:
                self._idle.append(notifier)
            self._changed.notify()
        if closing:  # outside the lock: an SMTP goodbye must not hold up the other threads
            notifier.close()

    def close(self) -> None:
        """Close the idle notifiers now and each borrowed one when it comes back."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._changed.notify_all()
        for notifier in idle:
            notifier.close()
