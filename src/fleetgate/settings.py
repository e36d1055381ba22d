"""Fleet settings: `fleet.yaml` (plus environment) into frozen, typed `Settings`.

Owns the shape of the fleet file (models, sites, pools, backends, tenants, server, limits and
routing sections), its validation, and its translation into routing's `Backend` records
(`Settings.backends`). Every error names the key path and what was expected, for
example ``sites[1].pools[0].gpus: expected a positive integer, got 'lots'``. Nothing here does
I/O beyond reading the file it is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from fleetgate.config_types import (
    Frozen,
    Name,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Pue,
    Url,
    duplicate_ids,
    format_problems,
)
from fleetgate.configfile import read_yaml, validate
from fleetgate.errors import ConfigurationError
from fleetgate.limits.config import LimitsSettings
from fleetgate.routing.config import PlacementSettings, RoutingSettings
from fleetgate.routing.index import Backend

# --------------------------------------------------------------------------- fleet


class ModelSettings(Frozen):
    """A model clients may ask for."""

    id: Name
    family: Name
    shape: Name = "llama-3.1-70b"
    upstream_model: str | None = None
    context_window: PositiveInt = 200_000

    @property
    def served_name(self) -> str:
        """The name backends know this model by."""
        return self.upstream_model or self.id


class BackendSettings(Frozen):
    """One reachable inference endpoint of a pool."""

    url: Url
    protocol: Literal["openai", "anthropic"] = "openai"
    id: str | None = None
    api_key_env: str | None = None
    capacity_weight: PositiveFloat | None = None


class PoolSettings(Frozen):
    """GPUs of one type at one site serving one model with one parallelism."""

    id: Name
    gpu: Name
    gpus: PositiveInt
    model: Name
    tensor_parallel: PositiveInt = 8
    dedicated_to: tuple[Name, ...] = ()
    backends: tuple[BackendSettings, ...] = ()


class SiteSettings(Frozen):
    """A data center, on the ground or in orbit."""

    id: Name
    provider: Name
    owner: Name
    kind: Literal["terrestrial", "orbital"] = "terrestrial"
    location: Name
    jurisdiction: str | None = None
    power_mw: PositiveFloat
    pue: Pue = 1.2
    network_rtt_ms: NonNegativeFloat = 0.0
    orbit: Mapping[str, Any] | None = None
    pools: tuple[PoolSettings, ...] = ()

    @property
    def region(self) -> str:
        """The jurisdiction, or the location's country suffix when none is given."""
        return self.jurisdiction or self.location.rsplit("-", 1)[-1]


class TenantSettings(Frozen):
    """An organization or user: its plan or tier and its placement policy."""

    id: Name
    plan: str | None = None
    tier: str | None = None
    priority: NonNegativeInt | None = None
    placement: PlacementSettings = PlacementSettings()


# --------------------------------------------------------------------------- shells


class ServerSettings(Frozen):
    """The gateway process."""

    host: str = "127.0.0.1"
    port: PositiveInt = 8080
    max_body_bytes: PositiveInt = 32 * 1024 * 1024
    state_path: str = "fleetgate-state.sqlite3"
    admin_key_env: str = "FLEETGATE_ADMIN_KEY"
    ping_interval_s: PositiveFloat = 15.0
    connect_timeout_s: PositiveFloat = 5.0
    first_byte_timeout_s: PositiveFloat = 600.0
    read_timeout_s: PositiveFloat = 600.0
    access_log: bool = False
    seed: int | None = None
    """Seed of the process's one random generator (routing tie-breaks, retry backoff, breaker
    jitter); unset, it is seeded from the operating system."""


class Settings(Frozen):
    """Everything fleetgate needs to run, loaded once at start."""

    server: ServerSettings = ServerSettings()
    models: tuple[ModelSettings, ...] = ()
    sites: tuple[SiteSettings, ...] = ()
    tenants: tuple[TenantSettings, ...] = ()
    limits: LimitsSettings = LimitsSettings()
    routing: RoutingSettings = RoutingSettings()

    def model(self, model_id: str) -> ModelSettings | None:
        """The model clients call `model_id`, if any."""
        for model in self.models:
            if model.id == model_id:
                return model
        return None

    def tenant(self, tenant_id: str) -> TenantSettings | None:
        """The tenant called `tenant_id`, if any."""
        for tenant in self.tenants:
            if tenant.id == tenant_id:
                return tenant
        return None

    def backends(self) -> tuple[Backend, ...]:
        """Every backend of every pool as routing's `Backend` record, in file order; a duplicate
        id is a configuration error naming both key paths."""
        built: list[tuple[Backend, str]] = []
        for s, site in enumerate(self.sites):
            for p, pool in enumerate(site.pools):
                model = self.model(pool.model)
                served = model.served_name if model is not None else pool.model
                built += _pool_backends(site, pool, served, f"sites[{s}].pools[{p}]")
        seen: dict[str, str] = {}
        for backend, where in built:
            if backend.id in seen:
                raise ConfigurationError(
                    f"{where}.id: duplicate backend id {backend.id!r} (also at {seen[backend.id]})"
                )
            seen[backend.id] = where
        return tuple(backend for backend, _ in built)


def _pool_backends(
    site: SiteSettings, pool: PoolSettings, served_model: str, where: str
) -> list[tuple[Backend, str]]:
    """A pool's backends; unless given, each weighs the pool's replicas over its backends."""
    replicas = max(pool.gpus / pool.tensor_parallel, 1.0)
    weight = replicas / max(len(pool.backends), 1)
    built: list[tuple[Backend, str]] = []
    for position, backend in enumerate(pool.backends):
        record = Backend(
            id=backend.id or f"{pool.id}#{position}",
            url=backend.url,
            protocol=backend.protocol,
            model_id=pool.model,
            served_model=served_model,
            pool_id=pool.id,
            site_id=site.id,
            provider=site.provider,
            owner=site.owner,
            jurisdiction=site.region,
            orbital=site.kind == "orbital",
            dedicated_to=frozenset(pool.dedicated_to),
            capacity_weight=backend.capacity_weight or weight,
            network_rtt_s=site.network_rtt_ms / 1000.0,
            api_key_env=backend.api_key_env,
        )
        built.append((record, f"{where}.backends[{position}]"))
    return built


# --------------------------------------------------------------------------- loading


def _cross_check(settings: Settings) -> list[str]:
    problems: list[str] = []
    model_ids = [model.id for model in settings.models]
    problems += duplicate_ids("models", model_ids)
    problems += duplicate_ids("sites", [site.id for site in settings.sites])
    problems += duplicate_ids("tenants", [tenant.id for tenant in settings.tenants])
    pool_ids = [pool.id for site in settings.sites for pool in site.pools]
    problems += duplicate_ids("pools", pool_ids)
    tenant_ids = {tenant.id for tenant in settings.tenants}
    for s, site in enumerate(settings.sites):
        for p, pool in enumerate(site.pools):
            where = f"sites[{s}].pools[{p}]"
            if pool.model not in model_ids:
                problems.append(f"{where}.model: expected one of {model_ids}, got {pool.model!r}")
            for d, tenant_id in enumerate(pool.dedicated_to):
                if tenant_id not in tenant_ids:
                    problems.append(f"{where}.dedicated_to[{d}]: unknown tenant {tenant_id!r}")
    for t, tenant in enumerate(settings.tenants):
        if tenant.plan is not None and tenant.tier is not None:
            problems.append(f"tenants[{t}]: give a plan or a tier, not both")
    for model_id in settings.routing.per_model:
        if model_id not in model_ids:
            problems.append(f"routing.per_model.{model_id}: unknown model")
    return problems


def settings_from_mapping(data: Any, *, source: str = "settings") -> Settings:
    """Validate `data` (parsed YAML) into `Settings`, or raise one `ConfigurationError`."""
    settings = validate(Settings, data, source=source, what="settings")
    problems = _cross_check(settings)
    if problems:
        raise ConfigurationError(format_problems(source, problems))
    return settings


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a fleet file."""
    return settings_from_mapping(read_yaml(path), source=str(Path(path)))
