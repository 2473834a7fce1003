"""Fan-out of the record store's change stream to live streams, one watcher per patient.

The record store is the one source of changes every replica shares (storage peers write it), so
each replica watches it itself; nothing is re-published. Within a replica, however many streams
follow one patient, one thread watches that patient's changes and only *rings*: each stream then
reads the changes after its own cursor with `changes_since`. A stream therefore never misses or
repeats a change whatever it resumed from (Last-Event-ID), and a slow stream slows no other.
The watcher stops when the patient's last stream closes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from services.gateway.observability import log


class Doorbell:
    """What one stream waits on: rung by its patient's watcher, by the client leaving, or by
    the replica shutting down."""

    def __init__(self, release: Callable[[Doorbell], None]):
        self._event = threading.Event()
        self._release = release
        self.closed = False  # no more rings will come: the stream should end
        self.failed = False  # the watcher died (store unreachable): end, the client reconnects

    def ring(self) -> None:
        self._event.set()

    def end(self, *, failed: bool = False) -> None:
        self.failed = self.failed or failed
        self.closed = True
        self._event.set()

    def wait(self, timeout_s: float) -> bool:
        """True if rung (or ended) within `timeout_s`; the ring is consumed."""
        rung = self._event.wait(max(0.0, timeout_s))
        self._event.clear()
        return rung or self.closed

    def leave(self) -> None:
        self._release(self)


class _Watcher:
    def __init__(self, store: Any, owner: str, on_exit: Callable[[_Watcher, bool], None]):
        self.bells: set[Doorbell] = set()
        self.stop = threading.Event()
        self._store, self._owner, self._on_exit = store, owner, on_exit
        self.thread = threading.Thread(target=self._run, name="live-watch", daemon=True)

    def _run(self) -> None:
        failed = False
        try:
            for _change in self._store.watch(self._owner, None, stop=self.stop):
                for bell in list(self.bells):
                    bell.ring()
        except Exception as error:  # noqa: BLE001 - any store failure ends this patient's streams
            failed = True
            log("live_watch_failed", kind=type(error).__name__)
        finally:
            self._on_exit(self, failed)


class LiveFeed:
    def __init__(self, store: Any):
        self._store = store
        self._lock = threading.Lock()
        self._watchers: dict[str, _Watcher] = {}
        self._closed = False

    def subscribe(self, owner: str) -> Doorbell:
        bell = Doorbell(lambda b: self._leave(owner, b))
        with self._lock:
            if self._closed:
                bell.end()
                return bell
            watcher = self._watchers.get(owner)
            if watcher is None:
                watcher = self._watchers[owner] = _Watcher(self._store, owner, self._watcher_exit)
                watcher.thread.start()
            watcher.bells.add(bell)
        return bell

    def watched(self) -> int:
        with self._lock:
            return len(self._watchers)

    def close(self) -> None:
        """End every stream now (the replica is stopping; clients reconnect to another)."""
        with self._lock:
            self._closed = True
            watchers = list(self._watchers.values())
            self._watchers.clear()
        for watcher in watchers:
            watcher.stop.set()
            for bell in list(watcher.bells):
                bell.end()

    def _leave(self, owner: str, bell: Doorbell) -> None:
        with self._lock:
            watcher = self._watchers.get(owner)
            if watcher is None:
                return
            watcher.bells.discard(bell)
            if not watcher.bells:
                watcher.stop.set()
                del self._watchers[owner]

    def _watcher_exit(self, watcher: _Watcher, failed: bool) -> None:
        with self._lock:
            for owner, current in list(self._watchers.items()):
                if current is watcher:
                    del self._watchers[owner]
            bells = list(watcher.bells)
        if failed or not watcher.stop.is_set():
            for bell in bells:
                bell.end(failed=True)
