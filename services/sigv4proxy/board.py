"""What the proxy knows about each upstream, shared by every gunicorn worker: whether its chain id
was verified, whether it is healthy, its last head, and when it is next due for a check.

One record per upstream in anonymous shared memory created before gunicorn forks (the app is
preloaded), so a chain mismatch found by any worker, by a health probe or in an answer, takes
the upstream out for all of them at once, /healthz and /metrics say the same whichever worker
answers, and one probe per interval serves them all. Times are time.monotonic(), one clock for
every process on the machine (CLOCK_MONOTONIC).

Chain states: UNVERIFIED (never checked, or its last check could not reach it: used only after a
check passes), VERIFIED (its last check answered our chain id), MISMATCH (it answered another:
never used; a health probe must then see our chain id RECOVERY_CHECKS times in a row to bring it
back, so an upstream flipping between chains stays out)."""

import mmap
import multiprocessing
import struct
import time
from typing import NamedTuple

UNVERIFIED, VERIFIED, MISMATCH = 0, 1, 2
CHAIN_STATE_NAMES = {UNVERIFIED: "unverified", VERIFIED: "verified", MISMATCH: "mismatch"}
RECOVERY_CHECKS = 3

# chain state, healthy, good checks since a mismatch, seen chain id (-1: none), head (-1: none),
# head seen at, start time of the check that set the chain state, end of the last check, next
# probe due at.
_RECORD = struct.Struct("=bbbxxxxxqqdddd")


class UpstreamState(NamedTuple):
    """One record as stored (read on every request: a tuple, no conversions until asked)."""

    chain: int
    healthy_flag: int
    recovery: int
    seen_raw: int  # -1: none
    head_raw: int  # -1: none
    head_at: float
    chain_checked_at: float
    checked_at: float
    probe_due_at: float

    @property
    def healthy(self) -> bool:
        return bool(self.healthy_flag)

    @property
    def seen_chain_id(self) -> int | None:
        return None if self.seen_raw < 0 else self.seen_raw

    @property
    def head(self) -> int | None:
        return None if self.head_raw < 0 else self.head_raw

    @property
    def verified(self) -> bool:
        return self.chain == VERIFIED

    @property
    def serving(self) -> bool:
        """Chosen first for client requests."""
        return self.chain == VERIFIED and self.healthy_flag == 1


# Keyword names callers use -> how they are stored.
_STORED = {
    "healthy": ("healthy_flag", int),
    "seen_chain_id": ("seen_raw", lambda v: -1 if v is None else v),
    "head": ("head_raw", lambda v: -1 if v is None else v),
}


class UpstreamBoard:
    def __init__(self, count: int, chain_id: int):
        self.count = count
        self.chain_id = chain_id
        self._table = mmap.mmap(-1, count * _RECORD.size)  # MAP_SHARED | MAP_ANONYMOUS
        self._lock = multiprocessing.Lock()
        fresh = UpstreamState(UNVERIFIED, 1, 0, -1, -1, 0.0, 0.0, 0.0, 0.0)
        for i in range(count):
            self._write(i, fresh)

    def _read(self, i: int) -> UpstreamState:
        return UpstreamState._make(_RECORD.unpack_from(self._table, i * _RECORD.size))

    def _write(self, i: int, state: UpstreamState) -> None:
        _RECORD.pack_into(self._table, i * _RECORD.size, *state)

    def _update(self, i: int, **changes) -> None:
        stored = {}
        for key, value in changes.items():
            name, encode = _STORED.get(key, (key, None))
            stored[name] = encode(value) if encode else value
        self._write(i, self._read(i)._replace(**stored))

    def snapshot(self) -> list[UpstreamState]:
        with self._lock:
            return [self._read(i) for i in range(self.count)]

    def get(self, i: int) -> UpstreamState:
        with self._lock:
            return self._read(i)

    def record_chain(self, i: int, seen: int, started_at: float, by_probe: bool) -> str:
        """A check that started at `started_at` saw chain id `seen`. Returns what changed:
        "mismatch" (newly taken out), "verified" (newly or again in), "unchanged" or "stale" (a
        check that started later has already decided)."""
        now = time.monotonic()
        with self._lock:
            old = self._read(i)
            if started_at < old.chain_checked_at:
                return "stale"
            common = {"chain_checked_at": started_at, "checked_at": now, "seen_chain_id": seen}
            if seen != self.chain_id:
                self._update(i, chain=MISMATCH, healthy=False, recovery=0, head=None, **common)
                return "unchanged" if old.chain == MISMATCH else "mismatch"
            if old.chain == MISMATCH:
                if not by_probe:
                    return "unchanged"  # only the health probe brings a mismatched upstream back
                if old.recovery + 1 < RECOVERY_CHECKS:
                    self._update(i, recovery=old.recovery + 1, **common)
                    return "unchanged"
            self._update(i, chain=VERIFIED, recovery=0, **common)
            return "unchanged" if old.chain == VERIFIED else "verified"

    def record_unreachable(self, i: int, started_at: float) -> None:
        """A check could not get a chain id: its verification lapses (the upstream may come back
        as something else), a mismatch stays."""
        now = time.monotonic()
        with self._lock:
            old = self._read(i)
            if started_at < old.chain_checked_at:
                return
            chain = MISMATCH if old.chain == MISMATCH else UNVERIFIED
            self._update(i, chain=chain, healthy=False, chain_checked_at=started_at, checked_at=now)

    def set_healthy(self, i: int, healthy: bool) -> bool:
        """Returns whether this changed it."""
        with self._lock:
            old = self._read(i)
            if old.healthy != healthy:
                self._update(i, healthy=healthy)
            return old.healthy != healthy

    def record_head(self, i: int, head: int, seen_at: float) -> None:
        with self._lock:
            old = self._read(i)
            if old.chain == VERIFIED and seen_at >= old.head_at:
                self._update(i, head=head, head_at=seen_at)

    def claim_probe(self, i: int, interval: float) -> float:
        """0 when the caller should probe upstream `i` now (the next probe is then due one
        interval later, whoever makes it), else the seconds until it is due."""
        now = time.monotonic()
        with self._lock:
            old = self._read(i)
            if now >= old.probe_due_at:
                self._update(i, probe_due_at=now + interval)
                return 0.0
            return old.probe_due_at - now
