"""How the server tells a long-running handler (a live stream) that its client has gone.

The gateway's own server (serving.py) puts a `ClientGone` in the WSGI environ under ENVIRON_KEY
and sets it when the connection closes; a live stream registers a waker so it stops at once
instead of at its next heartbeat. Under other servers (Flask's development server, the test
client) the key is absent and a stream ends on its next failed write or its lifetimes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

ENVIRON_KEY = "pulseledger.client_gone"


class ClientGone:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._wakers: list[Callable[[], None]] = []

    def set(self) -> None:
        with self._lock:
            self._event.set()
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            wake()

    def is_set(self) -> bool:
        return self._event.is_set()

    def add_waker(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if not self._event.is_set():
                self._wakers.append(wake)
                return
        wake()
