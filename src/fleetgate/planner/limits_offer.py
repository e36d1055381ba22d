"""The limits a fleet can offer: 5-hour and weekly plan budgets, per-minute API tier limits.

Plans: budgets are relative (published multipliers times a Pro base). Demand in hour h is
``sum_p S_p * share_h * E[min(D_p, L_p / k)] / 3600`` tokens/s, with S_p sessions a day, D_p the
heavy-tailed session demand, L_p the 5-hour budget and k the peak-metering multiplier in peak
hours. What exceeds a model's capacity in an hour is refused; the sustainable Pro base is the
largest one whose refused share of the day stays within the refusal target (bisection; refusal
grows with the base). Weekly budgets: the week's capped demand must fit what the fleet delivers
along the diurnal curve (capacity at the busiest hour). API tiers: peak output of all
organizations (mean + z * sd of their share of the limit) must fit the API share of capacity,
z from the refusal target. Budgets and limits are in output tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

from fleetgate.planner.demand import DemandFile, PlanDemand
from fleetgate.planner.heavy_tail import capped_mean, quantile, share_over
from fleetgate.workload.curve import HOURS, DayCurve, in_hours

_STANDARD_NORMAL = NormalDist()
_ITERATIONS = 80


@dataclass(frozen=True, slots=True)
class PlanBudget:
    """One plan's budgets: offered today and sustainable by the fleet."""

    plan_id: str
    name: str
    subscribers: int
    offered_five_hour: float
    sustainable_five_hour: float
    """inf when the fleet serves even uncapped demand (not binding)."""
    offered_weekly: float
    sustainable_weekly: float
    hit_share_offered: float
    """Share of sessions that reach the offered 5-hour budget (off-peak)."""
    hit_share_sustainable: float
    weekly_hit_share_sustainable: float


@dataclass(frozen=True, slots=True)
class SubscriptionOffer:
    """Plan budgets and how the day looks against capacity."""

    plans: tuple[PlanBudget, ...]
    five_hour_binding: bool
    """False when the fleet serves even uncapped demand within the refusal target."""
    weekly_binding: bool
    capacity_tokens_per_s: float
    """Subscription tokens/s at the model mix: the first model to saturate sets it."""
    hourly_capacity: tuple[float, ...]
    hourly_demand_offered: tuple[float, ...]
    hourly_demand_sustainable: tuple[float, ...]
    refusal_offered: float
    peak_utilization_offered: float
    sustainable_scale: float
    """Sustainable Pro 5-hour base over the offered one (2.0: limits could double)."""
    weekly_utilization_offered: float
    deliverable_week_tokens: float

    @property
    def headroom(self) -> float:
        """Spare capacity at the busiest hour under today's offer (negative: over capacity)."""
        return 1.0 - self.peak_utilization_offered


@dataclass(frozen=True, slots=True)
class TierLimit:
    """One API tier's per-minute limits: offered and sustainable."""

    tier_id: str
    organizations: int
    offered_otpm: float
    sustainable_otpm: float
    sustainable_itpm: float
    sustainable_rpm: float


@dataclass(frozen=True, slots=True)
class ApiOffer:
    """Per-minute tier limits against the API share of the fleet."""

    tiers: tuple[TierLimit, ...]
    capacity_tokens_per_s: float
    offered_tokens_per_s: float
    """Mean peak output tokens/s all organizations use at today's limits."""
    utilization_offered: float
    refusal_probability_offered: float
    per_stream_otpm: float
    scale: float
    """Sustainable over offered limits (same for every tier)."""


# --------------------------------------------------------------------------- plans


def _metered(demand: DemandFile, plan: PlanDemand, hour: int) -> float:
    metering = demand.peak_metering
    applies = plan.id in metering.plans  # resolved from the catalog when the file names none
    start, end = metering.hours_utc
    if metering.enabled and applies and in_hours(hour, start, end):
        return metering.multiplier
    return 1.0


def hourly_demand(demand: DemandFile, base: float) -> tuple[float, ...]:
    """Subscription demand in output tokens/s for each UTC hour, at Pro 5-hour budget `base`."""
    shares = _shares(demand)
    rates = [0.0] * 24
    for plan in demand.plans:
        sessions = plan.subscribers * plan.daily_active_share * plan.sessions_per_active_day
        budget = base * (plan.five_hour_multiplier or 1.0)
        for hour in range(24):
            served = capped_mean(
                plan.session_tokens_mean, plan.usage_sigma, budget / _metered(demand, plan, hour)
            )
            rates[hour] += sessions * shares[hour] * served / 3600.0
    return tuple(rates)


def _shares(demand: DemandFile) -> tuple[float, ...]:
    """Each UTC hour's share of a day's demand (the peak boost included)."""
    curve = DayCurve(demand.diurnal)
    return tuple(curve.load_share(hour) for hour in range(HOURS))


def refused_share(
    rates: tuple[float, ...], mix: Mapping[str, float], capacity: Mapping[str, float]
) -> float:
    """Share of the day's demand above each model's capacity, hour by hour."""
    total = sum(rates)
    if total <= 0.0:
        return 0.0
    refused = sum(
        max(0.0, rate * share - capacity.get(model, 0.0))
        for rate in rates
        for model, share in mix.items()
    )
    return refused / total


def _peak_utilization(
    rates: tuple[float, ...], mix: Mapping[str, float], capacity: Mapping[str, float]
) -> float:
    worst = 0.0
    for model, share in mix.items():
        cap = capacity.get(model, 0.0)
        load = max(rates) * share
        if load > 0.0:
            worst = max(worst, load / cap if cap > 0.0 else math.inf)
    return worst


def mix_capacity(mix: Mapping[str, float], capacity: Mapping[str, float]) -> float:
    """Total tokens/s the fleet serves at this model mix before its first model saturates."""
    return min((capacity.get(model, 0.0) / share for model, share in mix.items()), default=0.0)


def largest_within(
    measure: Callable[[float], float], limit: float, high: float
) -> tuple[float, bool]:
    """Largest x in (0, high] with measure(x) <= limit for a non-decreasing measure.

    Returns (x, binding): binding is False when even `high` stays within the limit.
    """
    if measure(high) <= limit:
        return high, False
    low = high * 1e-12
    if measure(low) > limit:
        return 0.0, True
    for _ in range(_ITERATIONS):
        middle = math.sqrt(low * high)
        if measure(middle) <= limit:
            low = middle
        else:
            high = middle
    return low, True


def _search_ceiling(demand: DemandFile, mean: Callable[[PlanDemand], float]) -> float:
    """A base so large that no plan limits more than 0.1% of its users (in peak hours too)."""
    metering = demand.peak_metering.multiplier if demand.peak_metering.enabled else 1.0
    return max(
        quantile(mean(plan), plan.usage_sigma, 0.999) * metering / (plan.five_hour_multiplier or 1)
        for plan in demand.plans
    )


def weekly_demand(demand: DemandFile, base: float) -> float:
    """Weekly output tokens subscribers use at Pro weekly budget `base`."""
    return sum(
        plan.subscribers
        * plan.weekly_active_share
        * capped_mean(
            plan.weekly_tokens_mean or 0.0, plan.usage_sigma, base * (plan.weekly_multiplier or 1)
        )
        for plan in demand.plans
    )


def deliverable_week(demand: DemandFile, capacity: Mapping[str, float]) -> float:
    """Output tokens a week along the diurnal curve, scaled to touch capacity at its peak."""
    shares = _shares(demand)
    scale = min(
        (
            capacity.get(model, 0.0) / (share * max(shares))
            for model, share in demand.model_mix.items()
        ),
        default=0.0,
    )
    return 7.0 * 3600.0 * scale * sum(shares)


def subscription_offer(demand: DemandFile, capacity: Mapping[str, float]) -> SubscriptionOffer:
    """Offered versus sustainable plan budgets for subscription capacity per model."""
    mix = demand.model_mix
    target = demand.refusal_target
    offered = demand.offer.pro_five_hour_tokens
    ceiling = _search_ceiling(demand, lambda plan: plan.session_tokens_mean)
    base, binding = largest_within(
        lambda b: refused_share(hourly_demand(demand, b), mix, capacity), target, ceiling
    )
    if not binding:
        base = math.inf
    week_cap = deliverable_week(demand, capacity)
    weekly_ceiling = _search_ceiling(demand, lambda plan: plan.weekly_tokens_mean or 0.0)
    weekly_base, weekly_binding = largest_within(
        lambda b: weekly_demand(demand, b), week_cap / (1.0 - target), weekly_ceiling
    )
    if not weekly_binding:
        weekly_base = math.inf
    offered_rates = hourly_demand(demand, offered)
    plans = tuple(_plan_budget(demand, plan, base, weekly_base) for plan in demand.plans)
    offered_week = weekly_demand(demand, demand.offer.pro_weekly_tokens)
    return SubscriptionOffer(
        plans=plans,
        five_hour_binding=binding,
        weekly_binding=weekly_binding,
        capacity_tokens_per_s=mix_capacity(mix, capacity),
        hourly_capacity=tuple([mix_capacity(mix, capacity)] * 24),
        hourly_demand_offered=offered_rates,
        hourly_demand_sustainable=hourly_demand(demand, base),
        refusal_offered=refused_share(offered_rates, mix, capacity),
        peak_utilization_offered=_peak_utilization(offered_rates, mix, capacity),
        sustainable_scale=base / offered,
        weekly_utilization_offered=offered_week / week_cap if week_cap > 0 else math.inf,
        deliverable_week_tokens=week_cap,
    )


def _plan_budget(
    demand: DemandFile, plan: PlanDemand, base: float, weekly_base: float
) -> PlanBudget:
    multiplier = plan.five_hour_multiplier or 1.0
    weekly_multiplier = plan.weekly_multiplier or 1.0
    offered = demand.offer.pro_five_hour_tokens * multiplier
    weekly_mean = plan.weekly_tokens_mean or 0.0
    return PlanBudget(
        plan_id=plan.id,
        name=plan.name,
        subscribers=plan.subscribers,
        offered_five_hour=offered,
        sustainable_five_hour=base * multiplier,
        offered_weekly=demand.offer.pro_weekly_tokens * weekly_multiplier,
        sustainable_weekly=weekly_base * weekly_multiplier,
        hit_share_offered=share_over(plan.session_tokens_mean, plan.usage_sigma, offered),
        hit_share_sustainable=share_over(
            plan.session_tokens_mean, plan.usage_sigma, base * multiplier
        ),
        weekly_hit_share_sustainable=share_over(
            weekly_mean, plan.usage_sigma, weekly_base * weekly_multiplier
        ),
    )


# --------------------------------------------------------------------------- API tiers


def api_offer(demand: DemandFile, capacity_tokens_per_s: float, tpot_s: float) -> ApiOffer:
    """Sustainable per-minute tier limits: peak mean + z * sd of use fits the API capacity."""
    z = _STANDARD_NORMAL.inv_cdf(1.0 - demand.refusal_target)
    mean_unit = sum(
        t.organizations * t.utilization_mean * (t.otpm_multiplier or 0) for t in demand.tiers
    )
    var_unit = sum(
        t.organizations * t.utilization_sd**2 * (t.otpm_multiplier or 0) ** 2 for t in demand.tiers
    )
    denominator = mean_unit + z * math.sqrt(var_unit)
    base = 60.0 * capacity_tokens_per_s / denominator if denominator > 0 else math.inf
    offered_mean = (
        sum(t.organizations * t.utilization_mean * (t.offered_otpm or 0) for t in demand.tiers) / 60
    )
    offered_sd = (
        math.sqrt(
            sum(
                t.organizations * t.utilization_sd**2 * (t.offered_otpm or 0) ** 2
                for t in demand.tiers
            )
        )
        / 60
    )
    tiers = tuple(
        TierLimit(
            tier_id=t.id,
            organizations=t.organizations,
            offered_otpm=t.offered_otpm or 0.0,
            sustainable_otpm=base * (t.otpm_multiplier or 0.0),
            sustainable_itpm=base * (t.otpm_multiplier or 0.0) * t.itpm_per_otpm,
            sustainable_rpm=base
            * (t.otpm_multiplier or 0.0)
            / demand.request_shape.mean_output_tokens,
        )
        for t in demand.tiers
    )
    return ApiOffer(
        tiers=tiers,
        capacity_tokens_per_s=capacity_tokens_per_s,
        offered_tokens_per_s=offered_mean,
        utilization_offered=offered_mean / capacity_tokens_per_s
        if capacity_tokens_per_s > 0
        else math.inf,
        refusal_probability_offered=_overflow(offered_mean, offered_sd, capacity_tokens_per_s),
        per_stream_otpm=60.0 / tpot_s,
        scale=tiers[0].sustainable_otpm / tiers[0].offered_otpm
        if tiers and tiers[0].offered_otpm
        else 0.0,
    )


def _overflow(mean: float, sd: float, capacity: float) -> float:
    if sd <= 0.0:
        return 0.0 if mean <= capacity else 1.0
    return 1.0 - _STANDARD_NORMAL.cdf((capacity - mean) / sd)
