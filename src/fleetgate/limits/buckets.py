"""Token-bucket math (pure): refill, fit test, wait time and refund, on two numbers per bucket.

A bucket holds `level` tokens (negative = debt), last computed at `ts`. It refills at `rate`
tokens per second up to `capacity` (the burst depth). A request of cost `c` fits when
``level >= max(c, 1)``: at least one whole token must be there, so a bucket in debt refuses even
requests that cost nothing in its dimension (Anthropic v2026 output accounting).
"""

from __future__ import annotations

import math


def level_at(level: float, ts: float, capacity: float, rate: float, now: float) -> float:
    """The level at `now`, refilled since `ts` (time never runs backwards here)."""
    if now <= ts:
        return level
    return min(capacity, level + (now - ts) * rate)


def needed(cost: float) -> float:
    """The level a request of `cost` needs to fit."""
    return max(cost, 1.0)


def wait_for(level: float, cost: float, capacity: float, rate: float) -> float:
    """Seconds until a request of `cost` fits (0 now, `math.inf` never: cost above capacity)."""
    want = needed(cost)
    if level >= want:
        return 0.0
    if want > capacity or rate <= 0:
        return math.inf
    return (want - level) / rate


def refund(level: float, amount: float, capacity: float) -> float:
    """Give `amount` tokens back (negative `amount` takes more: debt), never above capacity."""
    return min(capacity, level + amount)
