"""Heavy-tailed usage per user: the closed forms the planner sums.

Per-user demand in a window is log-normal with a given mean and shape `sigma`; a budget `cap`
turns it into served demand `E[min(D, cap)]` and a share of users who hit the limit `P(D > cap)`.
The day curve is `fleetgate.workload.curve`'s.
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
