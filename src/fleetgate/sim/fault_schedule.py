"""Faults as a seeded, time-ordered schedule of changes to site conditions.

Owns turning the `faults:` section into `FaultChange` records (start and end of each outage,
slowdown, error burst and eclipse; each radiation upset), and `SiteCondition`, the live state
of one site that overlapping faults combine into: down while any outage holds, step times
multiplied by every active slowdown, errors at 1 - prod(1 - rate). Each fault draws from its own
`random.Random`, seeded from the scenario seed and the fault's key path, so adding one fault
never changes the draws of another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from fleetgate.sim.faults_config import FaultSettings

ChangeKind = Literal["down", "slow", "errors", "upset"]


@dataclass(frozen=True, slots=True)
class FaultChange:
    """At `at` (seconds from the start) fault `key` turns `on` or off at `site`.

    `value` is the slowdown factor, the error rate, or (upsets) a uniform draw in [0, 1) that
    picks the replica hit; `restart_s` is how long an upset replica stays down."""

    at: float
    site: str
    kind: ChangeKind
    key: str
    on: bool
    value: float = 0.0
    restart_s: float = 0.0


@dataclass(slots=True)
class SiteCondition:
    """What the active faults do to one site now."""

    outages: set[str] = field(default_factory=set)
    slowdowns: dict[str, float] = field(default_factory=dict)
    error_rates: dict[str, float] = field(default_factory=dict)

    @property
    def down(self) -> bool:
        """Whether any outage holds."""
        return bool(self.outages)

    @property
    def slow_factor(self) -> float:
        """The product of every active slowdown."""
        factor = 1.0
        for value in self.slowdowns.values():
            factor *= value
        return factor

    @property
    def error_rate(self) -> float:
        """The chance a request fails at once, every burst combined."""
        ok = 1.0
        for rate in self.error_rates.values():
            ok *= 1.0 - rate
        return 1.0 - ok

    def apply(self, change: FaultChange) -> None:
        """Turn one fault on or off (upsets change replicas, not the site)."""
        if change.kind == "down":
            if change.on:
                self.outages.add(change.key)
            else:
                self.outages.discard(change.key)
        elif change.kind == "slow":
            if change.on:
                self.slowdowns[change.key] = change.value
            else:
                self.slowdowns.pop(change.key, None)
        elif change.kind == "errors":
            if change.on:
                self.error_rates[change.key] = change.value
            else:
                self.error_rates.pop(change.key, None)


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:faults:{key}")


def _window(
    key: str, site: str, kind: ChangeKind, start: float, length: float, value: float = 0.0
) -> list[FaultChange]:
    return [
        FaultChange(start, site, kind, key, True, value),
        FaultChange(start + length, site, kind, key, False, value),
    ]


def build_schedule(
    faults: FaultSettings, seed: int, duration: float, site_gpus: dict[str, int]
) -> list[FaultChange]:
    """Every fault change inside [0, duration), ordered by time (then by insertion)."""
    changes: list[FaultChange] = []
    for i, outage in enumerate(faults.outages):
        changes += _window(f"outages[{i}]", outage.site, "down", outage.at, outage.duration)
    for i, spec in enumerate(faults.random_outages):
        key = f"random_outages[{i}]"
        rng = _rng(seed, key)
        clock = rng.expovariate(1.0 / spec.mtbf)
        number = 0
        while clock < duration:
            repair = rng.expovariate(1.0 / spec.mttr)
            changes += _window(f"{key}#{number}", spec.site, "down", clock, repair)
            clock += repair + rng.expovariate(1.0 / spec.mtbf)
            number += 1
    for i, slow in enumerate(faults.slowdowns):
        changes += _window(
            f"slowdowns[{i}]", slow.site, "slow", slow.at, slow.duration, slow.factor
        )
    for i, burst in enumerate(faults.error_bursts):
        changes += _window(
            f"error_bursts[{i}]", burst.site, "errors", burst.at, burst.duration, burst.error_rate
        )
    for i, eclipse in enumerate(faults.eclipses):
        clock, number = eclipse.offset, 0
        factor = 1.0 / max(eclipse.capacity, 1e-6)
        while clock < duration:
            key = f"eclipses[{i}]#{number}"
            changes += _window(key, eclipse.site, "slow", clock, eclipse.duration, factor)
            clock += eclipse.period
            number += 1
    for i, rad in enumerate(faults.radiation):
        key = f"radiation[{i}]"
        rate = site_gpus.get(rad.site, 0) * rad.upsets_per_gpu_hour / 3600.0
        if rate <= 0:
            continue
        rng = _rng(seed, key)
        clock = rng.expovariate(rate)
        while clock < duration:
            changes.append(
                FaultChange(clock, rad.site, "upset", key, True, rng.random(), rad.restart)
            )
            clock += rng.expovariate(rate)
    indexed = sorted(enumerate(changes), key=lambda pair: (pair[1].at, pair[0]))
    return [change for _, change in indexed if change.at < duration]
