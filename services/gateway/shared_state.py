"""State every gateway replica must agree on: spent nonces, revoked sessions, live-stream leases,
rate budgets and the session secret's fingerprint.

Two backends behind one small interface:

- `MemoryState` — one process (the embedded default, `SHARED_STORE_URL` empty): nothing to run;
- `RedisState` — `redis://…`: any number of replicas share it. Every operation that decides
  something (claim, lease) is one atomic Redis command or Lua script, timed by the Redis server's
  clock, so replicas with skewed clocks still agree.

A store that cannot be reached makes the caller fail closed with 503 (`Unavailable`): a nonce that
cannot be marked spent is not accepted, a stream whose lease cannot be taken is not opened.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import redis
from limits.storage import MemoryStorage, RedisStorage, Storage

from services.gateway.errors import Unavailable

# A process's memory backend refuses new entries beyond this (never evicts: evicting a spent
# nonce would let it be replayed).
MEMORY_MAX_KEYS = 1_000_000


class SharedState(ABC):
    """What the gateway keeps outside one request. Keys are plain strings; the backend prefixes
    them so several deployments can share one server."""

    shared: bool  # True when other processes see the same state

    @abstractmethod
    def claim(self, key: str, ttl_s: float) -> bool:
        """Mark `key` for `ttl_s`; True the first time, False while it is still marked."""

    @abstractmethod
    def is_claimed(self, key: str) -> bool: ...

    @abstractmethod
    def acquire_lease(self, member: str, ttl_s: float, limits: Mapping[str, int]) -> str | None:
        """Enter `member` into every group of `limits` (group -> most members), all or none.
        Returns None on success, else the first group that is full. Leases expire after `ttl_s`
        unless renewed, so a crashed holder frees its places by itself."""

    @abstractmethod
    def renew_lease(self, member: str, ttl_s: float, groups: list[str]) -> bool:
        """Extend `member`'s leases; False if any had expired (the holder must stop)."""

    @abstractmethod
    def release_lease(self, member: str, groups: list[str]) -> None: ...

    @abstractmethod
    def lease_count(self, group: str) -> int: ...

    @abstractmethod
    def get(self, key: str) -> str | None: ...

    @abstractmethod
    def put(self, key: str, value: str) -> None: ...

    @abstractmethod
    def limits_storage(self) -> Storage:
        """The `limits` package's storage over the same backend (rate budgets)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise Unavailable if the store cannot be reached."""

    def close(self) -> None:
        """Release connections (nothing to do in memory)."""


class SweepingMemoryStorage(MemoryStorage):
    """`limits`' memory storage, sweeping expired entries once a second instead of on a fresh
    10 ms timer thread started by almost every hit: at 100+ requests/s that was one thread started
    per request, ~3 ms of an authorised read under the profiler. The budgets do not depend on the
    sweep (the moving window compares timestamps; `get` drops an expired counter itself): it only
    frees memory, and a client's key with it (the parent's sweep empties a key's list of hits but
    keeps the key: one entry for every client address ever seen)."""

    SWEEP_S = 1.0

    def _MemoryStorage__expire_events(self) -> None:  # the parent's private sweep, extended
        super()._MemoryStorage__expire_events()
        for key in list(self.events):
            with self.locks[key]:  # as the parent's hits take it: none is adding to this list
                if not self.events.get(key):
                    self.events.pop(key, None)
                    self.locks.pop(key, None)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the parent's private hook, overridden
        if not self.timer.is_alive():
            self.timer = threading.Timer(self.SWEEP_S, self._MemoryStorage__expire_events)
            self.timer.daemon = True
            self.timer.start()


class MemoryState(SharedState):
    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: dict[str, float] = {}
        self._values: dict[str, str] = {}
        self._leases: dict[str, dict[str, float]] = {}
        self._limits = SweepingMemoryStorage()
        self._next_sweep = 0.0

    def claim(self, key: str, ttl_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            if self._claims.get(key, 0.0) > now:
                return False
            if len(self._claims) >= MEMORY_MAX_KEYS:
                raise Unavailable("the gateway's state is full: try again later")
            self._claims[key] = now + ttl_s
            return True

    def is_claimed(self, key: str) -> bool:
        with self._lock:
            return self._claims.get(key, 0.0) > time.monotonic()

    def acquire_lease(self, member: str, ttl_s: float, limits: Mapping[str, int]) -> str | None:
        now = time.monotonic()
        with self._lock:
            for group, most in limits.items():
                members = self._live_members(group, now)
                if member not in members and len(members) >= most:
                    return group
            for group in limits:
                self._leases.setdefault(group, {})[member] = now + ttl_s
            return None

    def renew_lease(self, member: str, ttl_s: float, groups: list[str]) -> bool:
        now = time.monotonic()
        with self._lock:
            held = all(member in self._live_members(group, now) for group in groups)
            if held:
                for group in groups:
                    self._leases[group][member] = now + ttl_s
            return held

    def release_lease(self, member: str, groups: list[str]) -> None:
        with self._lock:
            for group in groups:
                members = self._leases.get(group, {})
                members.pop(member, None)
                if not members:
                    self._leases.pop(group, None)

    def lease_count(self, group: str) -> int:
        with self._lock:
            return len(self._live_members(group, time.monotonic()))

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def limits_storage(self) -> Storage:
        return self._limits

    def ping(self) -> None:
        return None

    def _live_members(self, group: str, now: float) -> dict[str, float]:
        members = self._leases.get(group, {})
        for expired in [m for m, until in members.items() if until <= now]:
            del members[expired]
        return members

    def _sweep(self, now: float) -> None:
        """Drop expired claims about once a second (amortised; caller holds the lock)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0
        for expired in [k for k, until in self._claims.items() if until <= now]:
            del self._claims[expired]


# Leases: one sorted set per group, member -> expiry (ms, Redis server time). Expired members are
# dropped before counting, so a crashed replica's streams stop counting after their TTL.
_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_ACQUIRE = _NOW_MS + """
local ttl = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if not redis.call('ZSCORE', key, ARGV[1]) then
    if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return i end
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  redis.call('PEXPIRE', key, ttl)
end
return 0
"""
_RENEW = _NOW_MS + """
local ttl = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  local until_ms = redis.call('ZSCORE', key, ARGV[1])
  if not until_ms or tonumber(until_ms) <= now then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + ttl, ARGV[1])
  redis.call('PEXPIRE', key, ttl)
end
return 1
"""
_COUNT = _NOW_MS + """
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"""


class RedisState(SharedState):
    shared = True

    def __init__(self, url: str, *, prefix: str, timeout_s: float):
        self._prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s,
                                            socket_connect_timeout=timeout_s,
                                            health_check_interval=30, decode_responses=True)
        self._acquire = self._client.register_script(_ACQUIRE)
        self._renew = self._client.register_script(_RENEW)
        self._count = self._client.register_script(_COUNT)
        self._limits = RedisStorage(url, key_prefix=prefix + "budget",
                                    connection_pool=self._client.connection_pool,
                                    wrap_exceptions=True)

    def claim(self, key: str, ttl_s: float) -> bool:
        with _reachable():
            return bool(self._client.set(self._prefix + key, "1", nx=True, px=_ms(ttl_s)))

    def is_claimed(self, key: str) -> bool:
        with _reachable():
            return bool(self._client.exists(self._prefix + key))

    def acquire_lease(self, member: str, ttl_s: float, limits: Mapping[str, int]) -> str | None:
        groups = list(limits)
        with _reachable():
            full = int(self._acquire(keys=[self._lease_key(g) for g in groups],
                                     args=[member, _ms(ttl_s), *limits.values()]))
        return groups[full - 1] if full else None

    def renew_lease(self, member: str, ttl_s: float, groups: list[str]) -> bool:
        with _reachable():
            return bool(self._renew(keys=[self._lease_key(g) for g in groups],
                                    args=[member, _ms(ttl_s)]))

    def release_lease(self, member: str, groups: list[str]) -> None:
        with _reachable():
            pipe = self._client.pipeline(transaction=False)
            for group in groups:
                pipe.zrem(self._lease_key(group), member)
            pipe.execute()

    def lease_count(self, group: str) -> int:
        with _reachable():
            return int(self._count(keys=[self._lease_key(group)]))

    def get(self, key: str) -> str | None:
        with _reachable():
            return self._client.get(self._prefix + key)

    def put(self, key: str, value: str) -> None:
        with _reachable():
            self._client.set(self._prefix + key, value)

    def limits_storage(self) -> Storage:
        return self._limits

    def ping(self) -> None:
        with _reachable():
            self._client.ping()

    def close(self) -> None:
        self._client.close()

    def _lease_key(self, group: str) -> str:
        return f"{self._prefix}lease:{group}"


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except redis.RedisError:
        # The exception's text may name the server; the reason is enough for the caller.
        raise Unavailable("the gateway's shared store is unreachable: try again shortly") from None


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def open_shared_state(url: str, *, prefix: str = "pulseledger:gateway:",
                      timeout_s: float = 2.0) -> SharedState:
    """`""` → this process's memory; `redis://` / `rediss://` / `unix://` → a Redis server."""
    if not url:
        return MemoryState()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisState(url, prefix=prefix, timeout_s=timeout_s)
    raise ValueError("SHARED_STORE_URL must be empty (one process) or a redis:// URL")
