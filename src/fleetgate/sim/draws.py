"""Random draws for the workload: length distributions and the diurnal rate curve.

Owns sampling a `Distribution` with a caller's `random.Random` (never the global one), counting
the draws a configured `max` capped, and the day curve: 24 hourly weights or a cosine with a
given peak-to-trough ratio (mean 1 over the day), times an optional boost in peak hours.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from fleetgate.sim.scenario import Diurnal
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


class DayCurve:
    """Relative demand through the day (mean 1 before the peak boost)."""

    def __init__(self, diurnal: Diurnal) -> None:
        if diurnal.hourly is not None:
            total = sum(diurnal.hourly) / 24.0
            self.hourly = tuple(weight / total for weight in diurnal.hourly)
        else:
            ratio = diurnal.peak_to_trough
            amplitude = (ratio - 1.0) / (ratio + 1.0)
            self.hourly = tuple(
                1.0
                + amplitude * math.cos(2.0 * math.pi * (hour + 0.5 - diurnal.peak_hour_utc) / 24)
                for hour in range(24)
            )
        self.peak = diurnal.peak_hours_utc
        self.boost = diurnal.peak_boost
        self.maximum = max(self.hourly) * max(self.boost, 1.0)

    def in_peak(self, hour: int) -> bool:
        """Whether `hour` (UTC) lies in the configured peak hours."""
        if self.peak is None:
            return False
        start, end = self.peak
        return start <= hour < end if start <= end else hour >= start or hour < end

    def weight(self, now: float) -> float:
        """Relative demand at epoch second `now`."""
        hour = int(now // 3600.0) % 24
        weight = self.hourly[hour]
        return weight * self.boost if self.in_peak(hour) else weight

    def next_arrival(self, now: float, mean_rate: float, rng: random.Random) -> float:
        """The next event of a Poisson process of `mean_rate` x weight(t), by thinning."""
        top = mean_rate * self.maximum
        if top <= 0:
            return math.inf
        clock = now
        while True:
            clock += rng.expovariate(top)
            if rng.random() * self.maximum <= self.weight(clock):
                return clock
