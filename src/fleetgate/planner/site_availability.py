"""Fleet availability: closed forms and the distribution of available capacity.

Sites fail independently (each up with probability A_i) under a common-mode layer (control plane,
software rollout) that takes everything down at once (capacity-constants 4.4). Besides the classic
"any site up" and "K of N" numbers, the planner reports capacity-weighted availability
E[min(available, required)] / required and the probability that offered limits must be throttled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_BINS = 10_000


def any_up(availabilities: Sequence[float]) -> float:
    """1 - prod(1 - A_i): at least one site up (each able to carry the load alone)."""
    down = 1.0
    for availability in availabilities:
        down *= 1.0 - availability
    return 1.0 - down


def all_up(availabilities: Sequence[float]) -> float:
    """prod(A_i): every site up at once."""
    return math.prod(availabilities)


def k_of_n(k: int, n: int, availability: float) -> float:
    """Probability that at least `k` of `n` identical independent sites are up."""
    return sum(
        math.comb(n, i) * availability**i * (1.0 - availability) ** (n - i) for i in range(k, n + 1)
    )


def capacity_distribution(
    capacities: Sequence[float], availabilities: Sequence[float]
) -> list[tuple[float, float]]:
    """(available capacity, probability) pairs over every up/down state of independent sites.

    States are merged into 10,000 equal bins of the total capacity so any number of sites stays
    cheap; each bin keeps its probability-weighted mean capacity.
    """
    total = sum(capacities)
    if total <= 0.0:
        return [(0.0, 1.0)]
    states: dict[int, tuple[float, float]] = {0: (0.0, 1.0)}
    for capacity, availability in zip(capacities, availabilities, strict=True):
        merged: dict[int, tuple[float, float]] = {}
        for value, probability in states.values():
            for extra, chance in ((capacity, availability), (0.0, 1.0 - availability)):
                if chance <= 0.0:
                    continue
                new_value = value + extra
                key = round(new_value / total * _BINS)
                old_value, old_probability = merged.get(key, (0.0, 0.0))
                weight = probability * chance
                mean = (old_value * old_probability + new_value * weight) / (
                    old_probability + weight
                )
                merged[key] = (mean, old_probability + weight)
        states = merged
    return sorted(states.values())


@dataclass(frozen=True, slots=True)
class FleetAvailability:
    """How often the fleet can honour what it offers."""

    any_site_up: float
    all_sites_up: float
    expected_capacity_share: float
    capacity_weighted: float
    throttle_probability: float
    """Probability that available capacity falls below the required peak capacity."""

    @property
    def downtime_minutes_per_year(self) -> float:
        """Minutes a year with no site serving at all."""
        return (1.0 - self.any_site_up) * 365.0 * 24.0 * 60.0


def fleet_availability(
    capacities: Sequence[float],
    availabilities: Sequence[float],
    *,
    common_mode: float,
    required: float,
) -> FleetAvailability:
    """Availability figures for sites of the given capacities against a required capacity."""
    total = sum(capacities)
    distribution = capacity_distribution(capacities, availabilities)
    served = sum(min(value, required) * p for value, p in distribution) if required > 0 else 0.0
    short = sum(p for value, p in distribution if value < required * (1.0 - 1e-12))
    expected = sum(c * a for c, a in zip(capacities, availabilities, strict=True))
    return FleetAvailability(
        any_site_up=common_mode * any_up(availabilities),
        all_sites_up=common_mode * all_up(availabilities),
        expected_capacity_share=common_mode * expected / total if total > 0 else 0.0,
        capacity_weighted=common_mode * served / required if required > 0 else common_mode,
        throttle_probability=1.0 - common_mode * (1.0 - short),
    )
