"""Rate budgets: at most N uses of something per sliding window, per key (a client address, a
patient), counted in the shared state so every replica draws on the same budget.

The moving-window strategy of the `limits` package (exact: the N+1st use inside any window of W
seconds is refused) over the shared state's storage (Redis when replicated, memory otherwise).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.strategies import MovingWindowRateLimiter

from services.gateway.errors import TooManyRequests, Unavailable
from services.gateway.observability import Metrics
from services.gateway.shared_state import SharedState


@dataclass(frozen=True)
class Budget:
    name: str  # part of the storage key: never change it for a running deployment
    limit: int
    window_s: int
    what: str  # for the refusal's message: "sign-in nonces per client address"


class Budgets:
    def __init__(self, state: SharedState, metrics: Metrics):
        self._limiter = MovingWindowRateLimiter(state.limits_storage())
        self._metrics = metrics

    def spend(self, budget: Budget, key: str, cost: int = 1) -> None:
        """Count `cost` uses of `budget` by `key` at once (all or none), or raise
        TooManyRequests (429, Retry-After)."""
        item = RateLimitItemPerSecond(budget.limit, budget.window_s, namespace=budget.name)
        try:
            if self._limiter.hit(item, key, cost=cost):
                return
            reset = self._limiter.get_window_stats(item, key).reset_time
        except StorageError:
            raise Unavailable("the gateway's shared store is unreachable: try again shortly") \
                from None
        self._metrics.budget_refusals.labels(budget.name).inc()
        retry_after = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(f"too many {budget.what} (at most {budget.limit} per "
                              f"{budget.window_s} s): retry in {retry_after} s",
                              retry_after_s=retry_after)
