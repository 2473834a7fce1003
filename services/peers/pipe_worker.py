"""One spawned worker process, called from the event loop over a pair of pipes the loop itself
reads and writes (no helper threads).

Why not a ProcessPoolExecutor: a pool's call passes through two threads of the peer (the
pool's manager and its queue's feeder) and back through the manager, each needing the GIL
that the event loop's close rounds hold most of the time. Measured with a thread keeping the
GIL busy, a 3,000-reading ingest call spent ~31 ms a call in those hand-overs, ~6 ms on an
idle process. Here the loop pickles and writes the call itself, and its own epoll wakes it
when the reply is in: ~10 ms and ~5.5 ms. In the all-in-one peer it showed in the masters'
validation, not in the ingest call, whose extra time was its WAL checkpoint
(docs/decisions/2026-12-07-worker-calls-over-pipes.md).
The pipes are widened to 1 MiB, so a call's frame goes in one write: at the default 64 kB a
frame of ~500 kB needed eight wake-ups of the loop, each one more wait for the GIL.

A frame is a 4-byte big-endian length and a pickle (multiprocessing.Connection's own framing,
which the worker reads and writes with). One call at a time; a call cancelled while its reply
is owed leaves that reply to be read and dropped by the next call."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import pickle
import struct
from collections.abc import Callable

import trio

_LENGTH = struct.Struct("!i")
PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size: a larger size is refused, and kept at 64 kB


class WorkerDied(Exception):
    """The worker exited (killed, out of memory) before it answered."""


def _serve(initializer: Callable, initargs: tuple, requests, replies) -> None:
    """The worker: `initializer(*initargs)`, a ready frame with its pid, then calls until the
    peer closes its end."""
    initializer(*initargs)
    replies.send_bytes(pickle.dumps(("ok", os.getpid()), pickle.HIGHEST_PROTOCOL))
    while True:
        try:
            function, args = pickle.loads(requests.recv_bytes())
        except EOFError:
            return
        try:
            reply = ("ok", function(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller, as a pool does
            reply = ("error", exc)
        try:
            frame = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            frame = pickle.dumps(("error", RuntimeError(f"unpicklable reply: {exc!r}")))
        replies.send_bytes(frame)


def _widen(fd: int) -> None:
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, AttributeError):
        pass  # not Linux, or a lower limit: correct at any size, only slower


def _unpack(frame: bytes):
    kind, value = pickle.loads(frame)
    if kind == "error":
        raise value
    return value


class PipeWorker:
    def __init__(self, initializer: Callable, initargs: tuple):
        self._init = (initializer, initargs)
        self._lock = trio.Lock()
        self._process = self._requests = self._replies = None
        self._buffer = bytearray()
        self._owed = 0  # replies of cancelled calls, still to come
        self.pid: int | None = None

    async def start(self) -> None:
        """Spawn the worker (spawn, not fork: the peer has threads a fork would copy
        mid-step) and wait until its initializer has run; WorkerDied if it failed."""
        async with self._lock:  # a call made meanwhile waits for the worker to be ready
            context = multiprocessing.get_context("spawn")
            child_requests, requests = context.Pipe(duplex=False)
            replies, child_replies = context.Pipe(duplex=False)
            self._process = context.Process(target=_serve, daemon=True,
                                            args=(*self._init, child_requests, child_replies))
            self._process.start()
            child_requests.close()
            child_replies.close()
            for connection in (requests, replies):
                _widen(connection.fileno())
            self._requests = trio.lowlevel.FdStream(os.dup(requests.fileno()))
            self._replies = trio.lowlevel.FdStream(os.dup(replies.fileno()))
            requests.close()
            replies.close()
            self._buffer.clear()
            self._owed = 1  # the ready frame: if this wait is cancelled, the next call drops it
            self.pid = _unpack(await self._frame())
            self._owed = 0

    def close(self) -> None:
        """Close our ends: the worker finishes what it holds and exits at its next read."""
        for stream in (self._requests, self._replies):
            if stream is not None:
                stream.close()
        self._requests = self._replies = None

    def kill(self) -> None:
        self.close()
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    async def call(self, function: Callable, *args):
        """function(*args) in the worker; its exception re-raised here; WorkerDied if the
        worker exited before answering (what it held never returned)."""
        frame = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        async with self._lock:
            if self._requests is None:  # closed or killed while this call waited for the lock
                raise WorkerDied()
            while self._owed:
                await self._frame()
                self._owed -= 1
            with trio.CancelScope(shield=True):  # half a frame would leave the pipe unreadable
                try:
                    await self._requests.send_all(_LENGTH.pack(len(frame)) + frame)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise WorkerDied() from exc
            self._owed += 1
            reply = await self._frame()
            self._owed -= 1
            return _unpack(reply)

    async def _frame(self) -> bytes:
        (length,) = _LENGTH.unpack(await self._exactly(_LENGTH.size))
        return await self._exactly(length)

    async def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            try:
                chunk = await self._replies.receive_some(max(PIPE_BYTES, size - len(self._buffer)))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise WorkerDied() from exc
            if not chunk:
                raise WorkerDied()
            self._buffer += chunk
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out
