"""Fleet capacity: per site and pool, the GPUs the power budget allows, replicas and tokens/s.

For each pool: power drawn = GPUs x IT power per GPU x PUE (the site's pools together must stay
within its MW budget, else a ConfigurationError names the site), replicas = GPUs // TP, output
tokens/s at the latency SLO from the performance model, and the usable share at the utilization
target. Orbital sites subtract their ground round trip from the TTFT budget and deliver their
average surviving GPUs (no repairs in orbit). Capacity per model feeds the limit search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.catalog import get_gpu, get_model
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape
from fleetgate.perfmodel.replica import ReplicaPerformance, replica_performance
from fleetgate.planner.demand import DemandFile
from fleetgate.planner.orbital import OrbitalDesign, design_orbital_site, orbit_parameters
from fleetgate.settings import PoolSettings, Settings, SiteSettings


@dataclass(frozen=True, slots=True)
class PoolCapacity:
    """One pool at its best operating point under the SLO."""

    site_id: str
    pool_id: str
    gpu: str
    model_id: str
    shape: str
    gpus: int
    tensor_parallel: int
    replicas: int
    power_mw: float
    power_allowed_gpus: int
    """GPUs of this type the site's budget allows for this pool, other pools as declared."""
    it_power_kw_per_gpu: float
    replica: ReplicaPerformance
    tokens_per_s: float
    """Output tokens/s of all replicas at the SLO, every GPU alive."""
    usable_tokens_per_s: float
    """At the utilization target, times the surviving share for orbital sites."""

    @property
    def tokens_per_gpu_s(self) -> float:
        """Output tokens/s per GPU at the SLO."""
        return self.replica.output_tokens_per_s_per_gpu


@dataclass(frozen=True, slots=True)
class SiteCapacity:
    """One site: its power, availability and pools (and, in orbit, its design)."""

    site_id: str
    kind: str
    provider: str
    power_mw: float
    used_mw: float
    pue: float
    availability: float
    rtt_ms: float
    pools: tuple[PoolCapacity, ...]
    orbital: OrbitalDesign | None

    @property
    def usable_tokens_per_s(self) -> float:
        """Usable output tokens/s of every pool."""
        return sum(pool.usable_tokens_per_s for pool in self.pools)

    @property
    def gpus(self) -> int:
        """GPUs of every pool."""
        return sum(pool.gpus for pool in self.pools)


@dataclass(frozen=True, slots=True)
class FleetCapacity:
    """Every site, and the capacity the limit search plans with."""

    sites: tuple[SiteCapacity, ...]
    lost_site: str | None
    """The site left out of planning (--lose-largest-site), if any."""

    @property
    def planning_sites(self) -> tuple[SiteCapacity, ...]:
        """The sites the plan counts on."""
        return tuple(site for site in self.sites if site.site_id != self.lost_site)

    def usable_by_model(self) -> dict[str, float]:
        """Usable output tokens/s per client model id, over the planning sites."""
        totals: dict[str, float] = {}
        for site in self.planning_sites:
            for pool in site.pools:
                totals[pool.model_id] = totals.get(pool.model_id, 0.0) + pool.usable_tokens_per_s
        return totals

    @property
    def usable_tokens_per_s(self) -> float:
        """Usable output tokens/s over the planning sites."""
        return sum(site.usable_tokens_per_s for site in self.planning_sites)

    @property
    def gpus(self) -> int:
        """GPUs over every site."""
        return sum(site.gpus for site in self.sites)


@dataclass(frozen=True, slots=True)
class _Targets:
    tpot_s: float
    ttft_s: float
    prompt: float
    output: float
    utilization: float
    efficiency: Efficiency


def fleet_capacity(
    settings: Settings, demand: DemandFile, *, tpot_s: float, ttft_s: float, lose_largest: bool
) -> FleetCapacity:
    """Capacity of every site in `settings` under the SLO and the demand file's assumptions."""
    targets = _Targets(
        tpot_s=tpot_s,
        ttft_s=ttft_s,
        prompt=demand.request_shape.mean_prompt_tokens,
        output=demand.request_shape.mean_output_tokens,
        utilization=demand.utilization_target,
        efficiency=_efficiency(demand),
    )
    for site_id in demand.site_availability:
        if site_id not in {site.id for site in settings.sites}:
            raise ConfigurationError(f"demand: site_availability.{site_id}: unknown site")
    memo: dict[tuple[str, str, int, float], ReplicaPerformance] = {}
    sites = tuple(
        _site_capacity(settings, index, site, demand, targets, memo)
        for index, site in enumerate(settings.sites)
    )
    if not sites:
        raise ConfigurationError("fleet: sites: expected at least one site")
    lost = None
    if lose_largest and len(sites) > 1:
        lost = max(sites, key=lambda site: site.usable_tokens_per_s).site_id
    return FleetCapacity(sites=sites, lost_site=lost)


def _efficiency(demand: DemandFile) -> Efficiency:
    given = demand.efficiency.given()
    try:
        return Efficiency(**given)
    except ConfigurationError as exc:
        raise ConfigurationError(f"demand: {exc.message}") from exc


def _site_capacity(
    settings: Settings,
    index: int,
    site: SiteSettings,
    demand: DemandFile,
    targets: _Targets,
    memo: dict[tuple[str, str, int, float], ReplicaPerformance],
) -> SiteCapacity:
    where = f"sites[{index}]"
    gpus = [_gpu(pool.gpu, f"{where}.pools[{p}].gpu") for p, pool in enumerate(site.pools)]
    watts = [
        pool.gpus * gpu.it_power_w * site.pue for pool, gpu in zip(site.pools, gpus, strict=True)
    ]
    budget_w = site.power_mw * 1e6
    if sum(watts) > budget_w * (1.0 + 1e-9):
        raise ConfigurationError(
            f"fleet: {where}.power_mw: {site.power_mw:g} MW cannot power the declared GPUs: "
            f"{sum(pool.gpus for pool in site.pools):,} GPUs need {sum(watts) / 1e6:,.1f} MW "
            f"at PUE {site.pue:g}; lower sites[{index}].pools[*].gpus or raise power_mw"
        )
    orbital, rtt_ms, survival = _orbit(site, where, sum(watts))
    pools = []
    for p, (pool, gpu) in enumerate(zip(site.pools, gpus, strict=True)):
        others_w = sum(watts) - watts[p]
        allowed = math.floor((budget_w - others_w) / (gpu.it_power_w * site.pue) + 1e-9)
        replica = _replica(settings, f"{where}.pools[{p}]", pool, gpu, targets, rtt_ms, memo)
        replicas = pool.gpus // pool.tensor_parallel
        raw = replicas * replica.output_tokens_per_s
        pools.append(
            PoolCapacity(
                site_id=site.id,
                pool_id=pool.id,
                gpu=gpu.name,
                model_id=pool.model,
                shape=replica.model,
                gpus=pool.gpus,
                tensor_parallel=pool.tensor_parallel,
                replicas=replicas,
                power_mw=watts[p] / 1e6,
                power_allowed_gpus=allowed,
                it_power_kw_per_gpu=gpu.it_power_w / 1000.0,
                replica=replica,
                tokens_per_s=raw,
                usable_tokens_per_s=raw * targets.utilization * survival,
            )
        )
    return SiteCapacity(
        site_id=site.id,
        kind=site.kind,
        provider=site.provider,
        power_mw=site.power_mw,
        used_mw=sum(watts) / 1e6,
        pue=site.pue,
        availability=demand.site_availability.get(site.id, demand.default_site_availability),
        rtt_ms=rtt_ms,
        pools=tuple(pools),
        orbital=orbital,
    )


def _gpu(name: str, where: str) -> GpuSpec:
    try:
        return get_gpu(name)
    except ConfigurationError as exc:
        raise ConfigurationError(f"fleet: {where}: {exc.message}") from exc


def _orbit(
    site: SiteSettings, where: str, load_w: float
) -> tuple[OrbitalDesign | None, float, float]:
    """(design, worst ground round trip in ms, surviving share) of a site."""
    if site.kind != "orbital":
        if site.orbit:
            raise ConfigurationError(f"fleet: {where}.orbit: only an orbital site takes an orbit")
        return None, site.network_rtt_ms, 1.0
    params = orbit_parameters(site.orbit, where=f"{where}.orbit")
    it_w = load_w / site.pue
    design = design_orbital_site(site.power_mw * 1e6, it_w, params)
    return design, design.rtt_worst_ms, design.mean_surviving_fraction


def _replica(
    settings: Settings,
    where: str,
    pool: PoolSettings,
    gpu: GpuSpec,
    targets: _Targets,
    rtt_ms: float,
    memo: dict[tuple[str, str, int, float], ReplicaPerformance],
) -> ReplicaPerformance:
    model_settings = settings.model(pool.model)
    if model_settings is None:
        raise ConfigurationError(f"fleet: {where}.model: unknown model {pool.model!r}")
    ttft_budget = targets.ttft_s - rtt_ms / 1000.0
    key = (gpu.name, model_settings.shape, pool.tensor_parallel, ttft_budget)
    if key in memo:
        return memo[key]
    shape = _shape(settings, model_settings.shape)
    if ttft_budget <= 0.0:
        ttft_budget = 1e-9
    try:
        replica = replica_performance(
            gpu,
            shape,
            pool.tensor_parallel,
            target_tpot_s=targets.tpot_s,
            target_ttft_s=ttft_budget,
            mean_prompt_tokens=targets.prompt,
            mean_output_tokens=targets.output,
            efficiency=targets.efficiency,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"fleet: {where}: {exc.message}") from exc
    memo[key] = replica
    return replica


def _shape(settings: Settings, shape: str) -> ModelShape:
    try:
        return get_model(shape)
    except ConfigurationError as exc:
        index = next(i for i, model in enumerate(settings.models) if model.shape == shape)
        raise ConfigurationError(f"fleet: models[{index}].shape: {exc.message}") from exc
