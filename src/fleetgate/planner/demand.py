"""The demand file of the planner: who uses the fleet, how much, when, and what is offered today.

Owns the YAML shape (plans with subscribers, active shares and heavy-tailed usage; API tiers; the
diurnal curve with peak hours; peak-hour metering; the model mix; planning assumptions such as
the utilization target, site availability and cost figures) and its validation. Every refusal
names the key path, e.g. ``plans[1].subscribers: expected a positive integer, got -5``.
Plan multiples (relative to Pro) and API tier limits a file leaves out are the limits catalog's
(`fleetgate.limits.catalog`, the fleet file's `limits:` over the shipped data): the planner
offers what the gateway enforces. Plan ids are the catalog's (``enterprise-seat``, not
``enterprise``); an unknown id needs its own multiplier.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from fleetgate.config_types import (
    Frozen,
    Name,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Pue,
    duplicate_ids,
    format_problems,
    number_in_range,
)
from fleetgate.configfile import read_yaml, validate
from fleetgate.errors import ConfigurationError
from fleetgate.limits.catalog import LimitsCatalog
from fleetgate.limits.config import LimitsSettings
from fleetgate.workload.curve import Diurnal, WholeHour
from fleetgate.workload.slo import LatencySlo

_fraction = number_in_range("a fraction in (0, 1]", low=0.0, high=1.0, low_open=True)
_share = number_in_range("a share in [0, 1)", low=0.0, high=1.0, high_open=True)
_refusal = number_in_range("a refusal rate in (0, 0.5]", low=0.0, high=0.5, low_open=True)

Fraction = Annotated[float, BeforeValidator(_fraction)]
Share = Annotated[float, BeforeValidator(_share)]
RefusalRate = Annotated[float, BeforeValidator(_refusal)]


class RequestShape(Frozen):
    """What one request looks like on average (drives the performance model)."""

    mean_prompt_tokens: PositiveInt = 2_000
    mean_output_tokens: PositiveInt = 400


class EfficiencySettings(Frozen):
    """Overrides of the performance model's efficiency factors (perfmodel.Efficiency)."""

    compute_efficiency: Fraction | None = None
    bandwidth_efficiency: Fraction | None = None
    step_overhead_s: NonNegativeFloat | None = None
    tp_comm_penalty: NonNegativeFloat | None = None
    memory_utilization: Fraction | None = None

    def given(self) -> dict[str, float]:
        """Only the factors the file sets."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class PeakMetering(Frozen):
    """Peak-hour metering: sessions consume their 5-hour budget `multiplier` times faster."""

    enabled: bool = False
    hours_utc: tuple[WholeHour, WholeHour] = (13, 19)
    """Weekdays 05:00-11:00 Pacific time, in UTC."""
    multiplier: PositiveFloat = 2.0
    """Not published; third parties guess 2-3x."""
    plans: tuple[Name, ...] = ()
    """Plans it applies to; left empty, the plans the limits catalog meters at peak hours (the
    gateway's `peak_metering` flag per plan; under profile v2026: free, team and enterprise)."""


class Offer(Frozen):
    """What is offered today, as the Pro plan's budgets in output tokens."""

    pro_five_hour_tokens: PositiveFloat
    pro_weekly_tokens: PositiveFloat


class PlanDemand(Frozen):
    """Subscribers of one plan and how they use it."""

    id: Name
    subscribers: NonNegativeInt
    five_hour_multiplier: PositiveFloat | None = None
    weekly_multiplier: PositiveFloat | None = None
    daily_active_share: Fraction
    sessions_per_active_day: PositiveFloat = 1.0
    session_tokens_mean: PositiveFloat
    usage_sigma: PositiveFloat = 1.0
    """Log-normal shape of per-user usage: 1.0 puts the heaviest 1% at ~6x the mean."""
    weekly_active_share: Fraction = 1.0
    weekly_tokens_mean: PositiveFloat | None = None

    @property
    def name(self) -> str:
        """A display name: the id's words capitalized ("max-5x" -> "Max 5x")."""
        return " ".join(word[:1].upper() + word[1:] for word in self.id.split("-"))


class TierDemand(Frozen):
    """Organizations on one API tier and how much of their per-minute limit they use at peak."""

    id: Name
    organizations: NonNegativeInt
    otpm_multiplier: PositiveFloat | None = None
    offered_otpm: PositiveFloat | None = None
    itpm_per_otpm: PositiveFloat = 5.0  # v2026 tables: ITPM = 5 x OTPM
    utilization_mean: Fraction
    utilization_sd: PositiveFloat = 0.1


class CostAssumptions(Frozen):
    """Prices for cost per GPU-hour and per million tokens (sources in costs.py)."""

    electricity_usd_per_kwh: PositiveFloat = 0.065
    facility_capex_usd_per_w: PositiveFloat = 13.8
    facility_life_years: PositiveFloat = 15.0
    gpu_life_years: PositiveFloat = 5.0
    ground_pue: Pue = 1.2
    """PUE of the ground site an orbital pool is compared with (McCalip default) [S]."""
    gpu_capex_usd: dict[Name, PositiveFloat] = Field(default_factory=dict)


class DemandFile(Frozen):
    """The whole demand file."""

    request_shape: RequestShape = RequestShape()
    slo: LatencySlo = LatencySlo()
    efficiency: EfficiencySettings = EfficiencySettings()
    utilization_target: Fraction = 0.8
    refusal_target: RefusalRate = 0.01
    api_share: Share = 0.0
    common_mode_availability: Fraction = 0.9995
    site_availability: dict[Name, Fraction] = Field(default_factory=dict)
    default_site_availability: Fraction = 0.991
    diurnal: Diurnal
    peak_metering: PeakMetering = PeakMetering()
    model_mix: dict[Name, PositiveFloat]
    offer: Offer
    plans: tuple[PlanDemand, ...]
    tiers: tuple[TierDemand, ...] = ()
    costs: CostAssumptions = CostAssumptions()

    @field_validator("model_mix")
    @classmethod
    def _adds_up(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if not value or abs(total - 1.0) > 1e-6:
            raise ValueError(f"expected shares that add up to 1, they add up to {total:g}")
        return value

    @field_validator("plans")
    @classmethod
    def _some_plans(cls, value: tuple[PlanDemand, ...]) -> tuple[PlanDemand, ...]:
        if not value:
            raise ValueError("expected at least one plan")
        return value


def catalog_multiples(catalog: LimitsCatalog) -> dict[str, tuple[float, float]]:
    """(five-hour, weekly) allowance of each catalog plan relative to its Pro plan."""
    pro = catalog.plans.get("pro")
    if pro is None:
        return {}
    return {
        name: (plan.five_hour / pro.five_hour, plan.seven_day / pro.seven_day)
        for name, plan in catalog.plans.items()
    }


def catalog_otpm(catalog: LimitsCatalog) -> dict[str, float]:
    """Each catalog tier's output tokens per minute (its default family's row)."""
    offered = {}
    for name, tier in catalog.tiers.items():
        row = catalog.tier_row(tier, tier.default_family or "")
        if row is not None:
            offered[name] = float(row[1].otpm)
    return offered


def _unknown(what: str, given: str, known: Iterable[str]) -> str:
    names = list(known)
    close = difflib.get_close_matches(given, names, n=1, cutoff=0.6)
    hint = f" (the limits catalog calls it {close[0]!r}?)" if close else ""
    return f"required for a {what} other than {', '.join(names)}{hint}"


def demand_from_mapping(
    data: Any, *, source: str = "demand", limits: LimitsSettings | None = None
) -> DemandFile:
    """Validate parsed YAML into `DemandFile`, resolving defaults; errors name the key path.

    Plan multiples and tier limits a file leaves out come from the limits catalog of `limits`
    (the fleet file's `limits:` section; default: the shipped data, profile v2026): the plans
    and tiers the gateway enforces.
    """
    demand = validate(DemandFile, data, source=source)
    catalog = LimitsCatalog.from_settings(limits or LimitsSettings())
    multiples = catalog_multiples(catalog)
    published_otpm = catalog_otpm(catalog)
    problems = duplicate_ids("plans", [plan.id for plan in demand.plans])
    problems += duplicate_ids("tiers", [tier.id for tier in demand.tiers])
    plans = []
    for index, plan in enumerate(demand.plans):
        five_hour, weekly = multiples.get(plan.id, (None, None))
        multiplier = plan.five_hour_multiplier or five_hour
        if multiplier is None:
            problems.append(
                f"plans[{index}].five_hour_multiplier: " + _unknown("plan", plan.id, multiples)
            )
            continue
        if plan.weekly_active_share < plan.daily_active_share:
            problems.append(
                f"plans[{index}].weekly_active_share: must be at least daily_active_share "
                f"({plan.daily_active_share:g}), got {plan.weekly_active_share:g}"
            )
        plans.append(_resolve_plan(plan, multiplier, plan.weekly_multiplier or weekly))
    tiers = []
    for index, tier in enumerate(demand.tiers):
        offered = tier.offered_otpm or published_otpm.get(tier.id)
        if offered is None:
            problems.append(
                f"tiers[{index}].offered_otpm: " + _unknown("tier", tier.id, published_otpm)
            )
            continue
        tiers.append(
            tier.model_copy(
                update={"offered_otpm": offered, "otpm_multiplier": tier.otpm_multiplier or offered}
            )
        )
    metering = demand.peak_metering
    if not metering.plans:
        metered = [
            p.id
            for p in demand.plans
            if p.id in catalog.plans and catalog.plans[p.id].peak_metering
        ]
        metering = metering.model_copy(update={"plans": tuple(metered)})
    for index, plan_id in enumerate(demand.peak_metering.plans):
        if plan_id not in {plan.id for plan in demand.plans}:
            problems.append(f"peak_metering.plans[{index}]: unknown plan {plan_id!r}")
    start, end = demand.peak_metering.hours_utc
    if start == end:
        problems.append("peak_metering.hours_utc: start and end must differ")
    if problems:
        raise ConfigurationError(format_problems(source, problems, what="input"))
    return demand.model_copy(
        update={"plans": tuple(plans), "tiers": tuple(tiers), "peak_metering": metering}
    )


def _resolve_plan(plan: PlanDemand, multiplier: float, weekly: float | None) -> PlanDemand:
    weekly_mean = plan.weekly_tokens_mean or (
        plan.session_tokens_mean
        * plan.sessions_per_active_day
        * 7.0
        * plan.daily_active_share
        / plan.weekly_active_share
    )
    return plan.model_copy(
        update={
            "five_hour_multiplier": multiplier,
            "weekly_multiplier": weekly or multiplier,
            "weekly_tokens_mean": weekly_mean,
        }
    )


def load_demand(path: str | Path, limits: LimitsSettings | None = None) -> DemandFile:
    """Read and validate a demand file (plans and tiers from the catalog of `limits`)."""
    return demand_from_mapping(read_yaml(path), source=str(path), limits=limits)
