"""The shared state's contract, on both backends: this process's memory and a real redis-server.
What the gateway builds on it (nonces, sessions, budgets, stream leases) relies on exactly this."""

import time

import pytest

from services.gateway.errors import Unavailable
from services.gateway.shared_state import MemoryState, RedisState, open_shared_state
from tests.gateway.chain_helpers import free_port


@pytest.fixture(params=["memory", "redis"])
def state(request):
    if request.param == "memory":
        yield MemoryState()
        return
    server = request.getfixturevalue("redis_server")
    state = RedisState(server.url, prefix=f"test:{time.monotonic_ns()}:", timeout_s=2)
    yield state
    state.close()


def test_claim__once_until_it_expires(state):
    assert state.claim("nonce:a", 0.3)
    assert not state.claim("nonce:a", 0.3)
    assert state.is_claimed("nonce:a") and not state.is_claimed("nonce:b")
    time.sleep(0.4)  # the TTL under test, not a wait for a race
    assert not state.is_claimed("nonce:a")
    assert state.claim("nonce:a", 0.3)


def test_lease__all_groups_or_none(state):
    limits = {"account:x": 2, "client:y": 3}
    assert state.acquire_lease("s1", 10, limits) is None
    assert state.acquire_lease("s2", 10, limits) is None
    assert state.acquire_lease("s3", 10, limits) == "account:x"
    assert state.lease_count("client:y") == 2  # s3 took nothing: all or none
    assert state.acquire_lease("s3", 10, {"account:z": 2, "client:y": 3}) is None
    assert state.acquire_lease("s4", 10, {"account:w": 2, "client:y": 3}) == "client:y"
    state.release_lease("s1", list(limits))
    assert state.lease_count("account:x") == 1
    assert state.acquire_lease("s5", 10, limits) is None


def test_lease__expires_unless_renewed(state):
    assert state.acquire_lease("gone", 0.3, {"g": 1}) is None
    assert state.acquire_lease("kept", 0.3, {"h": 1}) is None
    assert state.acquire_lease("other", 0.3, {"g": 1}) == "g"
    time.sleep(0.15)
    assert state.renew_lease("kept", 0.3, ["h"])
    time.sleep(0.2)  # "gone" (a crashed holder) has expired, "kept" has not
    assert state.lease_count("g") == 0 and state.lease_count("h") == 1
    assert not state.renew_lease("gone", 0.3, ["g"])  # a lost lease cannot be renewed
    assert state.acquire_lease("other", 0.3, {"g": 1}) is None


def test_values__get_and_put(state):
    assert state.get("fingerprint") is None
    state.put("fingerprint", "abc")
    assert state.get("fingerprint") == "abc"


def test_redis_unreachable__unavailable_not_a_crash():
    state = open_shared_state(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)
    for call in (lambda: state.claim("k", 1), lambda: state.is_claimed("k"), state.ping,
                 lambda: state.acquire_lease("m", 1, {"g": 1})):
        with pytest.raises(Unavailable, match="unreachable"):
            call()


def test_open_shared_state__rejects_other_schemes():
    with pytest.raises(ValueError, match="redis"):
        open_shared_state("memcached://127.0.0.1:11211")
    assert isinstance(open_shared_state(""), MemoryState)


def test_memory_budgets__no_thread_per_hit_and_still_exact():
    """limits' memory storage started a 10 ms timer thread on almost every hit; ours sweeps once a
    second, and the moving window still refuses the N+1st use and frees it once the window has
    passed."""
    import threading

    from limits import RateLimitItemPerSecond
    from limits.strategies import MovingWindowRateLimiter

    storage = MemoryState().limits_storage()
    limiter = MovingWindowRateLimiter(storage)
    started = []
    original = threading.Thread.start
    threading.Thread.start = lambda thread: started.append(thread) or original(thread)
    try:
        many = RateLimitItemPerSecond(10**6, 60, namespace="many")
        for _ in range(20):  # paced like requests at 50/s: the parent's 10 ms timer is gone each time
            assert limiter.hit(many, "client")
            time.sleep(0.02)
    finally:
        threading.Thread.start = original
    assert len(started) <= 1
    few = RateLimitItemPerSecond(2, 1, namespace="few")
    assert [limiter.hit(few, "client") for _ in range(3)] == [True, True, False]
    time.sleep(1.1)  # the window under test, not a wait for a race
    assert limiter.hit(few, "client")


def test_memory_budgets__a_client_gone_quiet_leaves_no_entry_behind():
    """The parent's sweep emptied each key's list of hits and kept the key: a gateway kept one
    entry for every client address it ever saw. Ours drops a key once its hits expired."""
    from limits import RateLimitItemPerSecond
    from limits.strategies import MovingWindowRateLimiter

    storage = MemoryState().limits_storage()
    limiter = MovingWindowRateLimiter(storage)
    once = RateLimitItemPerSecond(5, 1, namespace="nonce")
    for client in range(500):
        assert limiter.hit(once, f"client-{client}")
    assert len(storage.events) == 500
    time.sleep(1.1)  # their hits expire: the window under test
    assert limiter.hit(once, "still-here")  # a hit schedules the next sweep
    deadline = time.monotonic() + 10
    while any("client-" in key for key in storage.events) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [key for key in storage.events if "client-" in key]
    assert not [key for key in storage.locks if "client-" in key]
    assert limiter.hit(once, "client-0")  # a key swept away counts from nothing again
