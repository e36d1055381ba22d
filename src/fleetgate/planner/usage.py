"""Heavy-tailed usage per user and the diurnal curve: the closed forms the planner sums.

Per-user demand in a window is log-normal with a given mean and shape `sigma`; a budget `cap`
turns it into served demand `E[min(D, cap)]` and a share of users who hit the limit `P(D > cap)`.
Load through the day follows 24 hourly shares that add up to 1.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()


def _log_mu(mean: float, sigma: float) -> float:
    return math.log(mean) - sigma * sigma / 2.0


def capped_mean(mean: float, sigma: float, cap: float) -> float:
    """E[min(D, cap)] for log-normal D with the given mean and shape."""
    if cap <= 0.0:
        return 0.0
    if math.isinf(cap):
        return mean
    mu = _log_mu(mean, sigma)
    z = (math.log(cap) - mu) / sigma
    below = mean * _STANDARD_NORMAL.cdf(z - sigma)
    return below + cap * (1.0 - _STANDARD_NORMAL.cdf(z))


def share_over(mean: float, sigma: float, cap: float) -> float:
    """P(D > cap): the share of users whose demand exceeds the budget."""
    if cap <= 0.0:
        return 1.0
    if math.isinf(cap):
        return 0.0
    z = (math.log(cap) - _log_mu(mean, sigma)) / sigma
    return 1.0 - _STANDARD_NORMAL.cdf(z)


def quantile(mean: float, sigma: float, probability: float) -> float:
    """The demand below which `probability` of users fall."""
    return math.exp(_log_mu(mean, sigma) + sigma * _STANDARD_NORMAL.inv_cdf(probability))


def hourly_shares(
    peak_hour: int, peak_to_trough: float, hourly: tuple[float, ...] | None = None
) -> tuple[float, ...]:
    """24 shares of the day's load adding up to 1: explicit weights, or a cosine curve."""
    if hourly is not None:
        weights = list(hourly)
    else:
        weights = [
            1.0
            + (peak_to_trough - 1.0) * (1.0 + math.cos(2.0 * math.pi * (h - peak_hour) / 24)) / 2.0
            for h in range(24)
        ]
    total = sum(weights)
    return tuple(weight / total for weight in weights)


def in_hours(hour: int, start: int, end: int) -> bool:
    """Whether `hour` lies in [start, end), wrapping past midnight when end < start."""
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end
