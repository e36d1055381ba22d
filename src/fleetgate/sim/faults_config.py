"""The `faults:` section of a scenario: outages, slowdowns, error bursts, eclipses, radiation.

Owns the shape only; `fleetgate.sim.fault_schedule` turns it into a seeded, time-ordered schedule.
Times (`at`) are offsets from the scenario start.
"""

from __future__ import annotations

from pydantic import Field

from fleetgate.config_types import Frozen, Name, NonNegativeFloat, PositiveFloat
from fleetgate.sim.scenario_types import Duration, Fraction, PositiveDuration


class ScriptedOutage(Frozen):
    """A site serves nothing from `at` for `duration` (in-flight requests fail)."""

    site: Name
    at: Duration
    duration: PositiveDuration


class RandomOutages(Frozen):
    """Independent outages of a site: up times exponential with mean `mtbf`, repairs `mttr`."""

    site: Name
    mtbf: PositiveDuration
    mttr: PositiveDuration


class Slowdown(Frozen):
    """Every step of a site's engines takes `factor` times longer (thermal, noisy neighbour)."""

    site: Name
    at: Duration
    duration: PositiveDuration
    factor: PositiveFloat = 2.0


class ErrorBurst(Frozen):
    """A share `error_rate` of the requests a site receives fail at once (5xx)."""

    site: Name
    at: Duration
    duration: PositiveDuration
    error_rate: Fraction = 0.5


class Eclipses(Frozen):
    """An orbital site passes through Earth's shadow every `period` for `duration`; on
    batteries its GPUs are power-capped to `capacity` of their speed."""

    site: Name
    period: PositiveDuration = 5_760.0  # ~96 min: a 650 km orbit
    duration: PositiveDuration = 2_100.0  # ~35 min in shadow (not dawn-dusk synchronous)
    offset: Duration = 0.0
    capacity: Fraction = 0.5


class Radiation(Frozen):
    """Single-event upsets: each GPU upsets at `upsets_per_gpu_hour`; an upset crashes its
    replica (in-flight requests fail) and the replica restarts after `restart`."""

    site: Name
    upsets_per_gpu_hour: NonNegativeFloat = 1e-4
    restart: PositiveDuration = 60.0


class FaultSettings(Frozen):
    """Every fault of a scenario."""

    outages: tuple[ScriptedOutage, ...] = ()
    random_outages: tuple[RandomOutages, ...] = ()
    slowdowns: tuple[Slowdown, ...] = ()
    error_bursts: tuple[ErrorBurst, ...] = ()
    eclipses: tuple[Eclipses, ...] = ()
    radiation: tuple[Radiation, ...] = Field(default_factory=tuple)

    def unknown_sites(self, sites: set[str]) -> list[str]:
        """Key-path problems for faults naming a site the fleet does not have."""
        problems = []
        groups: dict[str, tuple[Frozen, ...]] = {
            "outages": self.outages,
            "random_outages": self.random_outages,
            "slowdowns": self.slowdowns,
            "error_bursts": self.error_bursts,
            "eclipses": self.eclipses,
            "radiation": self.radiation,
        }
        for key, items in groups.items():
            for index, item in enumerate(items):
                site = getattr(item, "site", None)
                if site not in sites:
                    problems.append(
                        f"faults.{key}[{index}].site: unknown site {site!r} "
                        f"(fleet: {sorted(sites)})"
                    )
        return problems
