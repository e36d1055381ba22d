"""One capacity plan: fleet and demand in; capacity, limits, costs and availability out.

`make_plan` is the single entry point the command, the what-if comparisons and the tests call;
it is pure (no I/O, no clock): the same inputs give the same `PlanResult`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetgate.errors import ConfigurationError
from fleetgate.planner.capacity import FleetCapacity, PoolCapacity, SiteCapacity, fleet_capacity
from fleetgate.planner.costs import (
    GpuHourCost,
    cost_per_million_tokens,
    gpu_capex,
    orbital_gpu_hour,
    terrestrial_gpu_hour,
)
from fleetgate.planner.demand import DemandFile
from fleetgate.planner.limits_offer import (
    ApiOffer,
    SubscriptionOffer,
    api_offer,
    subscription_offer,
)
from fleetgate.planner.orbital import orbit_parameters
from fleetgate.planner.site_availability import FleetAvailability, fleet_availability
from fleetgate.settings import Settings


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Command-line choices that override the demand file."""

    tpot_ms: float | None = None
    ttft_ms: float | None = None
    refusal_target: float | None = None
    lose_largest_site: bool = False


@dataclass(frozen=True, slots=True)
class PoolCost:
    """What one pool's GPU-hours and tokens cost."""

    site_id: str
    pool_id: str
    kind: str
    gpu: str
    gpu_hour: GpuHourCost
    tokens_per_gpu_s: float
    usd_per_million_tokens: float
    ground_gpu_hour: GpuHourCost | None = None
    """For an orbital pool: the same GPUs in a ground data center."""

    @property
    def ground_usd_per_million_tokens(self) -> float | None:
        """Cost per million tokens of the ground equivalent (None for ground pools)."""
        if self.ground_gpu_hour is None or self.tokens_per_gpu_s <= 0:
            return None
        return self.usd_per_million_tokens * self.ground_gpu_hour.total / self.gpu_hour.total


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Everything one plan computed."""

    tpot_ms: float
    ttft_ms: float
    refusal_target: float
    utilization_target: float
    capacity: FleetCapacity
    subscriptions: SubscriptionOffer
    api: ApiOffer | None
    availability: FleetAvailability
    costs: tuple[PoolCost, ...]

    @property
    def usd_per_million_tokens(self) -> float:
        """Fleet-wide cost per million output tokens at the utilization target."""
        dollars = sum(cost.gpu_hour.total * _pool(self, cost).gpus for cost in self.costs)
        tokens = sum(
            cost.tokens_per_gpu_s * 3600.0 * self.utilization_target * _pool(self, cost).gpus
            for cost in self.costs
        )
        return dollars / tokens * 1e6 if tokens > 0 else float("inf")


def _pool(result: PlanResult, cost: PoolCost) -> PoolCapacity:
    for site in result.capacity.sites:
        for pool in site.pools:
            if pool.pool_id == cost.pool_id:
                return pool
    raise KeyError(cost.pool_id)


def effective_demand(demand: DemandFile, options: PlanOptions) -> DemandFile:
    """The demand file with the command line's overrides applied."""
    if options.refusal_target is None:
        return demand
    if not 0.0 < options.refusal_target <= 0.5:
        raise ConfigurationError(
            f"--refusal-target: expected a rate in (0, 0.5], got {options.refusal_target!r}"
        )
    return demand.model_copy(update={"refusal_target": options.refusal_target})


def make_plan(settings: Settings, demand: DemandFile, options: PlanOptions) -> PlanResult:
    """Plan `settings` against `demand`."""
    demand = effective_demand(demand, options)
    tpot_ms = options.tpot_ms if options.tpot_ms is not None else demand.slo.tpot_ms
    ttft_ms = options.ttft_ms if options.ttft_ms is not None else demand.slo.ttft_ms
    for flag, value in (("--slo-tpot-ms", tpot_ms), ("--slo-ttft-ms", ttft_ms)):
        if not value > 0:
            raise ConfigurationError(f"{flag}: expected a positive number, got {value!r}")
    capacity = fleet_capacity(
        settings,
        demand,
        tpot_s=tpot_ms / 1000.0,
        ttft_s=ttft_ms / 1000.0,
        lose_largest=options.lose_largest_site,
    )
    _check_mix(settings, demand, capacity)
    by_model = capacity.usable_by_model()
    subscription_capacity = {m: c * (1.0 - demand.api_share) for m, c in by_model.items()}
    subscriptions = subscription_offer(demand, subscription_capacity)
    api = None
    if demand.tiers and demand.api_share > 0:
        api_capacity = demand.api_share * sum(by_model.get(m, 0.0) for m in demand.model_mix)
        api = api_offer(demand, api_capacity, tpot_ms / 1000.0)
    required = max(subscriptions.hourly_demand_offered) + (api.offered_tokens_per_s if api else 0.0)
    availability = fleet_availability(
        [site.usable_tokens_per_s for site in capacity.sites],
        [site.availability for site in capacity.sites],
        common_mode=demand.common_mode_availability,
        required=required,
    )
    return PlanResult(
        tpot_ms=tpot_ms,
        ttft_ms=ttft_ms,
        refusal_target=demand.refusal_target,
        utilization_target=demand.utilization_target,
        capacity=capacity,
        subscriptions=subscriptions,
        api=api,
        availability=availability,
        costs=tuple(_costs(settings, demand, capacity)),
    )


def _check_mix(settings: Settings, demand: DemandFile, capacity: FleetCapacity) -> None:
    served = {pool.model_id for site in capacity.sites for pool in site.pools}
    for model_id in demand.model_mix:
        if settings.model(model_id) is None:
            known = ", ".join(model.id for model in settings.models)
            raise ConfigurationError(
                f"demand: model_mix.{model_id}: unknown model; the fleet has {known}"
            )
        if model_id not in served:
            raise ConfigurationError(f"demand: model_mix.{model_id}: no pool serves this model")


def _costs(settings: Settings, demand: DemandFile, capacity: FleetCapacity) -> list[PoolCost]:
    costs = []
    prices = demand.costs.gpu_capex_usd
    for site in capacity.sites:
        site_it_kw = sum(pool.it_power_kw_per_gpu * pool.gpus for pool in site.pools)
        for pool in site.pools:
            capex = gpu_capex(pool.gpu, prices)
            hour = _gpu_hour(settings, demand, site, pool, capex, site_it_kw)
            ground = None
            if site.orbital is not None:
                ground = _ground_hour(demand, pool, capex, demand.costs.ground_pue)
            rate = pool.tokens_per_gpu_s
            costs.append(
                PoolCost(
                    site_id=site.site_id,
                    pool_id=pool.pool_id,
                    kind=site.kind,
                    gpu=pool.gpu,
                    gpu_hour=hour,
                    tokens_per_gpu_s=rate,
                    usd_per_million_tokens=cost_per_million_tokens(
                        hour.total, rate, demand.utilization_target
                    ),
                    ground_gpu_hour=ground,
                )
            )
    return costs


def _ground_hour(demand: DemandFile, pool: PoolCapacity, capex: float, pue: float) -> GpuHourCost:
    return terrestrial_gpu_hour(
        gpu_capex_usd=capex,
        gpu_life_years=demand.costs.gpu_life_years,
        it_power_kw=pool.it_power_kw_per_gpu,
        pue=pue,
        facility_capex_usd_per_w=demand.costs.facility_capex_usd_per_w,
        facility_life_years=demand.costs.facility_life_years,
        electricity_usd_per_kwh=demand.costs.electricity_usd_per_kwh,
    )


def _gpu_hour(
    settings: Settings,
    demand: DemandFile,
    site: SiteCapacity,
    pool: PoolCapacity,
    capex: float,
    site_it_kw: float,
) -> GpuHourCost:
    if site.orbital is None:
        return _ground_hour(demand, pool, capex, site.pue)
    index = next(i for i, s in enumerate(settings.sites) if s.id == site.site_id)
    params = orbit_parameters(settings.sites[index].orbit, where=f"sites[{index}].orbit")
    share = pool.it_power_kw_per_gpu / site_it_kw if site_it_kw > 0 else 0.0
    return orbital_gpu_hour(
        gpu_capex_usd=capex,
        spacecraft_usd_per_gpu=site.orbital.hardware_cost_usd * share,
        launch_usd_per_gpu=site.orbital.launch_cost_usd * share,
        life_years=params.life_years,
        surviving_fraction=site.orbital.mean_surviving_fraction,
    )
