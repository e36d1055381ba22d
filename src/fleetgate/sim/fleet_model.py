"""The simulated fleet: every backend's engines, each site's network and fault conditions.

Owns building one `ReplicaGroup` per backend of the fleet file (pools without backends get one
simulated backend, so a planning fleet can be simulated as it is), timed by the performance
model (`RooflineStepTimer`, the one the engine and the planner use), the client round trip per
site, applying fault changes to sites, and per-site utilization and energy.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.catalog import get_gpu
from fleetgate.perfmodel.step_timer import RooflineStepTimer
from fleetgate.routing.index import Backend
from fleetgate.settings import BackendSettings, Settings, SiteSettings
from fleetgate.sim.batch_replica import BatchTiming, JobSink
from fleetgate.sim.fault_schedule import FaultChange, SiteCondition
from fleetgate.sim.group import ReplicaGroup
from fleetgate.sim.loop import EventLoop
from fleetgate.sim.scenario import Scenario

SIM_URL = "http://{pool}.sim.invalid"


def with_sim_backends(settings: Settings) -> Settings:
    """`settings` where every pool without backends has one simulated backend."""
    sites = []
    for site in settings.sites:
        pools = tuple(
            pool
            if pool.backends
            else pool.model_copy(
                update={"backends": (BackendSettings(url=SIM_URL.format(pool=pool.id)),)}
            )
            for pool in site.pools
        )
        sites.append(site.model_copy(update={"pools": pools}))
    return settings.model_copy(update={"sites": tuple(sites)})


@dataclass(slots=True)
class SiteState:
    """One site: its settings, conditions, network and the groups (backends) it hosts."""

    settings: SiteSettings
    condition: SiteCondition
    one_way_s: float
    jitter_s: float
    groups: list[ReplicaGroup]
    it_power_w: float
    """IT power of every GPU of the site at full load (server share included)."""

    @property
    def gpus(self) -> int:
        """GPUs of the site."""
        return sum(group.gpus for group in self.groups)


class SimFleet:
    """Every engine of the fleet, grouped by backend and by site."""

    def __init__(
        self,
        settings: Settings,
        backends: tuple[Backend, ...],
        scenario: Scenario,
        loop: EventLoop,
        sink: JobSink,
    ) -> None:
        self.groups: dict[str, ReplicaGroup] = {}
        self.sites: dict[str, SiteState] = {}
        self.rng = random.Random(f"{scenario.seed}:network")
        self.idle_share = scenario.replica.idle_power_share
        timings: dict[tuple[str, str, int], BatchTiming] = {}
        by_pool: dict[str, list[Backend]] = {}
        for backend in backends:
            by_pool.setdefault(backend.pool_id, []).append(backend)
        for s, site in enumerate(settings.sites):
            net = scenario.network.get(site.id)
            rtt_ms = net.rtt_ms if net is not None and net.rtt_ms is not None else None
            rtt_s = (site.network_rtt_ms if rtt_ms is None else rtt_ms) / 1000.0
            jitter = (net.jitter_ms if net is not None else 0.0) / 1000.0
            state = SiteState(site, SiteCondition(), rtt_s / 2.0, jitter / 2.0, [], 0.0)
            for p, pool in enumerate(site.pools):
                where = f"sites[{s}].pools[{p}]"
                model = settings.model(pool.model)
                shape = model.shape if model is not None else pool.model
                key = (pool.gpu, shape, pool.tensor_parallel)
                if key not in timings:
                    timings[key] = _timing(key, scenario.replica.max_batch, where)
                members = by_pool.get(pool.id, [])
                replicas = max(pool.gpus // pool.tensor_parallel, 1)
                weights = [b.capacity_weight for b in members]
                for backend, count in zip(members, _split(replicas, weights), strict=True):
                    group = ReplicaGroup(
                        backend,
                        count,
                        pool.tensor_parallel,
                        timings[key],
                        loop,
                        sink,
                        scenario.replica.max_prefill_tokens,
                    )
                    self.groups[backend.id] = group
                    state.groups.append(group)
                state.it_power_w += pool.gpus * _gpu_it_power(pool.gpu, where)
            self.sites[site.id] = state

    def one_way_s(self, site_id: str) -> float:
        """One client-to-site trip now: half the round trip plus jitter."""
        site = self.sites[site_id]
        if site.jitter_s <= 0:
            return site.one_way_s
        return site.one_way_s + self.rng.expovariate(1.0 / site.jitter_s)

    def apply(self, change: FaultChange, now: float) -> list[tuple[ReplicaGroup, int]]:
        """Apply one fault change; returns the (group, replica) crashed by an upset, if any."""
        site = self.sites[change.site]
        if change.kind == "upset":
            return self._upset(site, change.value, now)
        before = (site.condition.down, site.condition.slow_factor)
        site.condition.apply(change)
        down, slow = site.condition.down, site.condition.slow_factor
        errors = site.condition.error_rate
        for group in site.groups:
            if down != before[0]:
                group.set_site_down(down, now)
            if slow != before[1]:
                group.set_slow(slow, now)
            group.error_rate = errors
        return []

    def _upset(self, site: SiteState, draw: float, now: float) -> list[tuple[ReplicaGroup, int]]:
        total = sum(len(group.replicas) for group in site.groups)
        if total == 0 or site.condition.down:
            return []
        target = min(int(draw * total), total - 1)
        for group in site.groups:
            if target < len(group.replicas):
                if not group.replicas[target].up:
                    return []
                group.crash(target, now)
                return [(group, target)]
            target -= len(group.replicas)
        return []

    def site_report(self, site_id: str, now: float, seconds: float) -> dict[str, float]:
        """Utilization (busy engine share), output tokens and energy of one site so far."""
        site = self.sites[site_id]
        engines = sum(len(group.replicas) for group in site.groups)
        busy = sum(group.busy_seconds(now) for group in site.groups)
        utilization = busy / (engines * seconds) if engines and seconds > 0 else 0.0
        draw = self.idle_share + (1.0 - self.idle_share) * utilization
        energy_mwh = site.it_power_w * site.settings.pue * draw * seconds / 3.6e9
        return {
            "gpus": site.gpus,
            "engines": engines,
            "utilization": round(utilization, 6),
            "output_tokens": sum(group.tokens_out() for group in site.groups),
            "energy_mwh": round(energy_mwh, 6),
            "mean_power_mw": round(energy_mwh * 3600.0 / seconds, 6) if seconds > 0 else 0.0,
        }


def _timing(key: tuple[str, str, int], max_batch: int, where: str) -> BatchTiming:
    gpu, shape, tp = key
    try:
        timer = RooflineStepTimer(gpu, shape, tp, batch_cap=max_batch)
    except ConfigurationError as exc:
        raise ConfigurationError(f"fleet: {where}: {exc.message}") from exc
    return BatchTiming(timer, max_batch)


def _gpu_it_power(name: str, where: str) -> float:
    try:
        return get_gpu(name).it_power_w
    except ConfigurationError as exc:
        raise ConfigurationError(f"fleet: {where}.gpu: {exc.message}") from exc


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` engines over backends in proportion to `weights` (each at least one)."""
    if not weights:
        return []
    whole = sum(weights)
    shares = [total * weight / whole for weight in weights]
    counts = [max(1, math.floor(share)) for share in shares]
    leftover = total - sum(counts)
    order = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in order[: max(leftover, 0)]:
        counts[i] += 1
    return counts
