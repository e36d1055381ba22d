"""Routing's own configuration types: the `routing:` section of the fleet file (policies, health,
saturation, priority and SLO knobs), a tenant's `placement:` policy, and `RoutedTenant`, what
routing reads of a tenant. `fleetgate.settings` composes them into the fleet file; routing never
imports it.

Every number here has a default a demanding operator would accept; validation errors name the key
path through `fleetgate.settings` (e.g. ``routing.saturation.max_kv_usage: expected a share
between 0 and 1, got 1.5``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from fleetgate.config_types import (
    Frozen,
    Name,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    PositiveShare,
    number_in_range,
)

POLICY_NAMES: tuple[str, ...] = (
    "least_in_flight",
    "least_outstanding_tokens",
    "power_of_two",
    "latency_aware",
    "affinity",
    "round_robin",
)
"""Every routing policy a model may name; `fleetgate.routing.policies.POLICIES` implements them."""


def _policy_name(value: Any) -> Any:
    if not isinstance(value, str) or value not in POLICY_NAMES:
        raise PydanticCustomError(
            "expected", "expected one of {names}", {"names": ", ".join(POLICY_NAMES)}
        )
    return value


_share = number_in_range("a share between 0 and 1", low=0, high=1)
_factor = number_in_range("a number of at least 1", low=1)
_slo = number_in_range(
    "an SLO strictly between 0 and 1", low=0, high=1, low_open=True, high_open=True
)


def _windows(value: Any) -> Any:
    if not isinstance(value, list | tuple) or not value:
        raise PydanticCustomError("expected", "expected a non-empty list of seconds", {})
    return value


PolicyName = Annotated[str, BeforeValidator(_policy_name)]
Share = Annotated[float, BeforeValidator(_share)]
Factor = Annotated[float, BeforeValidator(_factor)]
AvailabilityTarget = Annotated[float, BeforeValidator(_slo)]


class PlacementSettings(Frozen):
    """Where a tenant's traffic may go. Empty allow-lists allow everything."""

    allow_providers: tuple[Name, ...] = ()
    deny_providers: tuple[Name, ...] = ()
    allow_owners: tuple[Name, ...] = ()
    deny_owners: tuple[Name, ...] = ()
    allow_jurisdictions: tuple[Name, ...] = ()
    deny_jurisdictions: tuple[Name, ...] = ()
    allow_orbital: bool = True
    require_dedicated: bool = False


class RoutedTenant(Protocol):
    """What routing reads of a tenant (`fleetgate.settings.TenantSettings` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def plan(self) -> str | None: ...
    @property
    def tier(self) -> str | None: ...
    @property
    def priority(self) -> int | None: ...
    @property
    def placement(self) -> PlacementSettings: ...


class BreakerSettings(Frozen):
    """Per-backend circuit breaker: when to open, how long to stay open, how to probe back."""

    consecutive_failures: PositiveInt = 5
    error_rate: Share = 0.5
    error_rate_window_s: PositiveFloat = 30.0
    min_requests: PositiveInt = 20
    open_s: PositiveFloat = 10.0
    max_open_s: PositiveFloat = 120.0
    jitter: Share = 0.2
    half_open_probes: PositiveInt = 1


class OutlierSettings(Frozen):
    """Passive outlier detection: eject backends whose success ratio trails their peers'."""

    enabled: bool = True
    min_requests: PositiveInt = 50
    stdev_factor: PositiveFloat = 1.9
    min_gap: Share = 0.05
    max_ejected_share: Share = 0.5


class ProbeSettings(Frozen):
    """Active health probes and engine-metric scrapes (vLLM names) by the gateway's checker."""

    enabled: bool = True
    interval_s: PositiveFloat = 1.0
    timeout_s: PositiveFloat = 2.0
    health_path: str = "/health"
    metrics_path: str | None = "/metrics"
    unhealthy_after: PositiveInt = 3
    healthy_after: PositiveInt = 2
    stale_after_s: PositiveFloat = 5.0
    max_concurrency: PositiveInt = 64


class SaturationSettings(Frozen):
    """When a backend counts as saturated; when every allowed one is, the answer is 529."""

    max_waiting: NonNegativeFloat = 16.0
    max_kv_usage: PositiveShare = 0.95
    max_in_flight_per_replica: PositiveFloat | None = None
    retry_after_s: PositiveFloat = 1.0
    max_retry_after_s: PositiveFloat = 30.0


class PrioritySettings(Frozen):
    """Priority classes by plan or tier (higher is more important); lower classes shed first.

    `saturation_share` maps a priority to the share of the saturation thresholds at which that
    class already counts a backend as saturated; classes not listed use 1.0 (the full thresholds).
    """

    default: int = 1
    by_plan: Mapping[str, int] = Field(default_factory=dict)
    by_tier: Mapping[str, int] = Field(default_factory=dict)
    saturation_share: Mapping[int, PositiveShare] = Field(default_factory=lambda: {0: 0.8})


class RetrySettings(Frozen):
    """Failover before the first byte: how many attempts and how much extra load at most."""

    max_attempts: PositiveInt = 3
    budget_share: Share = 0.2
    min_retries_per_s: NonNegativeFloat = 5.0
    backoff_s: NonNegativeFloat = 0.05
    max_backoff_s: NonNegativeFloat = 1.0


class HedgingSettings(Frozen):
    """Optional hedged second attempt for non-streaming requests after a latency percentile."""

    enabled: bool = False
    after_percentile: Share = 0.95
    max_share: Share = 0.05


class QueueSettings(Frozen):
    """Optional bounded queueing when every allowed backend is saturated, instead of an
    immediate 529: a request waits up to `max_wait_s` (higher priority classes first), and at
    most `max_queued` requests wait at once; past either bound the answer is the 529."""

    enabled: bool = False
    max_wait_s: PositiveFloat = 5.0
    max_queued: PositiveInt = 256


class AvailabilitySettings(Frozen):
    """Rolling success ratios, reported as nines and error-budget burn against `slo`."""

    slo: AvailabilityTarget = 0.999
    windows_s: Annotated[tuple[PositiveFloat, ...], BeforeValidator(_windows)] = (
        300.0,
        3600.0,
        86400.0,
    )
    buckets: PositiveInt = 60


class RoutingSettings(Frozen):
    """Routing policy per model (by model id), `default` for the rest, and every routing knob."""

    default: PolicyName = "least_in_flight"
    per_model: Mapping[str, PolicyName] = Field(default_factory=dict)
    affinity_fallback: PolicyName = "least_outstanding_tokens"
    affinity_load_factor: Factor = 1.25
    prefer_dedicated: bool = True
    prefer_known_metrics: bool = True
    ewma_alpha: Share = 0.2
    latency_stale_after_s: PositiveFloat = 120.0
    latency_prior_ttft_s: NonNegativeFloat = 0.5
    latency_prior_itl_s: NonNegativeFloat = 0.03
    breaker: BreakerSettings = BreakerSettings()
    outliers: OutlierSettings = OutlierSettings()
    probes: ProbeSettings = ProbeSettings()
    saturation: SaturationSettings = SaturationSettings()
    priority: PrioritySettings = PrioritySettings()
    retry: RetrySettings = RetrySettings()
    hedging: HedgingSettings = HedgingSettings()
    queue: QueueSettings = QueueSettings()
    availability: AvailabilitySettings = AvailabilitySettings()

    @field_validator("affinity_fallback")
    @classmethod
    def _fallback_is_not_affinity(cls, value: str) -> str:
        if value == "affinity":
            raise PydanticCustomError("expected", "expected a policy other than affinity", {})
        return value

    def policy_for(self, model_id: str) -> str:
        """The policy name routing `model_id`."""
        return self.per_model.get(model_id, self.default)


__all__ = [
    "POLICY_NAMES",
    "AvailabilitySettings",
    "BreakerSettings",
    "HedgingSettings",
    "OutlierSettings",
    "PlacementSettings",
    "PrioritySettings",
    "ProbeSettings",
    "QueueSettings",
    "RetrySettings",
    "RoutedTenant",
    "RoutingSettings",
    "SaturationSettings",
]
