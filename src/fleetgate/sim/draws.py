"""Random draws for the workload: length distributions.

Owns sampling a `Distribution` with a caller's `random.Random` (never the global one) and
counting the draws a configured `max` capped. The day curve is `fleetgate.workload.curve`'s.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from fleetgate.sim.scenario_types import Distribution

exp = math.exp


class Sampler:
    """Draws from one distribution; `capped` counts draws cut to the configured `max`."""

    __slots__ = ("_draw", "_max", "_mu", "_sigma", "capped", "dist")

    _draw: Callable[[random.Random], float]

    def __init__(self, dist: Distribution) -> None:
        self.dist = dist
        self._max = dist.max if dist.max is not None else math.inf
        self.capped = 0
        self._mu = 0.0
        self._sigma: float | None = None  # set for a log-normal: drawn without `_draw`
        mean = dist.expected
        if dist.dist == "fixed":
            self._draw = lambda rng: mean
        elif dist.dist == "exponential":
            rate = 1.0 / mean
            self._draw = lambda rng: rng.expovariate(rate)
        elif dist.dist == "lognormal":
            sigma = dist.sigma
            mu = math.log(mean) - sigma * sigma / 2.0
            self._draw = lambda rng: rng.lognormvariate(mu, sigma)
            self._mu, self._sigma = mu, sigma
        elif dist.dist == "uniform":
            low, high = dist.low or 0.0, dist.high or 0.0
            self._draw = lambda rng: rng.uniform(low, high)
        else:
            alpha = dist.alpha
            scale = mean * (alpha - 1.0) / alpha
            self._draw = lambda rng: scale * rng.paretovariate(alpha)

    def value(self, rng: random.Random) -> float:
        """One draw (capped at `max`, counted)."""
        sigma = self._sigma  # a log-normal as `Random.lognormvariate` draws it, two calls less
        drawn: float = self._draw(rng) if sigma is None else exp(rng.normalvariate(self._mu, sigma))
        if drawn > self._max:
            self.capped += 1
            return self._max
        return drawn

    def count(self, rng: random.Random, minimum: int = 1) -> int:
        """One draw rounded to a whole count of at least `minimum`."""
        sigma = self._sigma  # `value`, inline: several draws per request
        drawn: float = self._draw(rng) if sigma is None else exp(rng.normalvariate(self._mu, sigma))
        if drawn > self._max:
            self.capped += 1
            drawn = self._max
        return max(minimum, round(drawn))
