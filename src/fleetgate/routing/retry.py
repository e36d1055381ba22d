"""The retry budget: failover may add at most a configured share of extra load.

Envoy-style: over a rolling window, retries may not exceed `budget_share` x first attempts, with a
floor of `min_retries_per_s` so a quiet gateway can still fail over. When a fleet-wide outage
makes every request fail, the budget stops a retry storm from multiplying the load. Backoff is
exponential with full jitter drawn from the `random.Random` passed in. Pure: takes `now`.
"""

from __future__ import annotations

import random

from fleetgate.routing.availability import RollingRatio
from fleetgate.routing.config import RetrySettings

BUDGET_WINDOW_S = 10.0


class RetryBudget:
    """Counts first attempts and retries over the last `BUDGET_WINDOW_S` seconds."""

    def __init__(self, settings: RetrySettings | None = None) -> None:
        self.settings = settings or RetrySettings()
        self._requests = RollingRatio(BUDGET_WINDOW_S, 10)
        self._retries = RollingRatio(BUDGET_WINDOW_S, 10)

    def record_request(self, now: float) -> None:
        """A client request made its first attempt."""
        self._requests.record(True, now)

    def allowance(self, now: float) -> float:
        """How many retries the window allows in all."""
        _, requests = self._requests.counts(now)
        floor = self.settings.min_retries_per_s * BUDGET_WINDOW_S
        return max(self.settings.budget_share * requests, floor)

    def try_spend(self, now: float) -> bool:
        """Whether one more retry fits the budget; counts it when it does."""
        _, retries = self._retries.counts(now)
        if retries + 1 > self.allowance(now):
            return False
        self._retries.record(True, now)
        return True

    def backoff_s(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `attempt` (1 = after the first failure)."""
        settings = self.settings
        ceiling = min(settings.backoff_s * 2 ** max(attempt - 1, 0), settings.max_backoff_s)
        return rng.uniform(0.0, ceiling)
