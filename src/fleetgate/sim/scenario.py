"""The scenario file of `fleetgate simulate`: a fleet, a demand, faults, a duration and a seed.

Owns the YAML shape and its validation; every refusal names the key path, e.g.
``workload.populations[1].users: expected a non-negative integer, got -3``. Paths inside a
scenario (the fleet file, a trace CSV) are relative to the scenario file. Fault models live in
`fleetgate.sim.faults_config`; workload models here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from fleetgate.batching import DEFAULT_MAX_PREFILL_TOKENS
from fleetgate.config_types import (
    Frozen,
    Name,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from fleetgate.configfile import read_yaml, validate
from fleetgate.errors import ConfigurationError
from fleetgate.settings import Settings, load_settings
from fleetgate.sim.faults_config import FaultSettings
from fleetgate.sim.scenario_types import (
    Dist,
    Distribution,
    Duration,
    Fraction,
    Instant,
    PositiveDuration,
)
from fleetgate.workload.curve import Diurnal
from fleetgate.workload.slo import LatencySlo

SessionKind = Literal["single", "chat", "agentic"]


class ChatSession(Frozen):
    """A conversation: turns whose prompt carries the whole history (cached prefix)."""

    turns: Dist = Distribution(dist="exponential", mean=6.0)
    think_time_s: Dist = Distribution(dist="exponential", mean=40.0)
    system_tokens: NonNegativeInt = 1_500
    message_tokens: Dist = Distribution(dist="lognormal", mean=300.0, sigma=1.0)
    output_tokens: Dist = Distribution(dist="lognormal", mean=400.0, sigma=0.8)


class AgenticSession(Frozen):
    """A coding-agent burst: many calls over a long context that grows with every tool result."""

    calls: Dist = Distribution(dist="exponential", mean=40.0)
    think_time_s: Dist = Distribution(dist="exponential", mean=4.0)
    initial_context_tokens: Dist = Distribution(dist="lognormal", mean=20_000.0, sigma=0.5)
    growth_tokens: Dist = Distribution(dist="lognormal", mean=1_500.0, sigma=1.0)
    output_tokens: Dist = Distribution(dist="lognormal", mean=250.0, sigma=1.0)
    max_context_tokens: PositiveInt = 180_000


class SingleCall(Frozen):
    """One independent API call (batch jobs, classification, extraction)."""

    prompt_tokens: Dist = Distribution(dist="lognormal", mean=2_000.0, sigma=1.0)
    output_tokens: Dist = Distribution(dist="lognormal", mean=400.0, sigma=0.8)


def _chat_only() -> dict[SessionKind, float]:
    return {"chat": 1.0}


class Population(Frozen):
    """Users of one plan, or organizations of one API tier, and how they work."""

    name: Name | None = None
    plan: Name | None = None
    tier: Name | None = None
    tenant: Name | None = None
    """A tenant of the fleet file whose placement policy and priority these users share."""
    users: NonNegativeInt
    sessions_per_user_day: PositiveFloat = 2.0
    sessions: Mapping[SessionKind, PositiveFloat] = Field(default_factory=_chat_only)
    usage_sigma: NonNegativeFloat = 1.0
    """Log-normal spread of how much each user works (0: everyone alike)."""
    max_tokens: PositiveInt = 8_192
    client_retries: NonNegativeInt = 2
    """Retries after a 429 or 529 that says to retry (SDK default: 2)."""

    @model_validator(mode="after")
    def _plan_or_tier(self) -> Population:
        if self.plan is not None and self.tier is not None:
            raise ValueError("give a plan or a tier, not both")
        if self.plan is None and self.tier is None and self.tenant is None:
            raise ValueError("give a plan or a tier (or a fleet tenant)")
        if not self.sessions:
            raise ValueError("sessions: expected at least one session kind")
        return self

    @property
    def label(self) -> str:
        """The name reports use for this population."""
        return self.name or self.plan or self.tier or self.tenant or "users"


class Trace(Frozen):
    """Replay of a CSV trace: timestamp, tenant, model, input_tokens, output_tokens."""

    path: Name
    time_scale: PositiveFloat = 1.0
    """Stretch (>1) or compress (<1) the trace's time axis."""


class Workload(Frozen):
    """Who sends what, when: populations and sessions, a diurnal curve, a model mix, traces."""

    populations: tuple[Population, ...] = ()
    model_mix: Mapping[Name, PositiveFloat] = Field(default_factory=dict)
    diurnal: Diurnal = Diurnal()
    chat: ChatSession = ChatSession()
    agentic: AgenticSession = AgenticSession()
    single: SingleCall = SingleCall()
    trace: Trace | None = None


class ReplicaOptions(Frozen):
    """How every simulated engine schedules (vLLM-like continuous batching)."""

    max_batch: PositiveInt = 256
    max_prefill_tokens: PositiveInt = DEFAULT_MAX_PREFILL_TOKENS
    """Prompt tokens one prefill step may take (`fleetgate.batching`)."""
    prefix_caching: bool = True
    idle_power_share: Fraction = 0.3
    """Share of IT power a GPU draws idle; energy = idle + (1 - idle) x utilization."""


class SiteNetwork(Frozen):
    """Client-to-site network: round trip (default: the fleet file's) and jitter."""

    rtt_ms: NonNegativeFloat | None = None
    jitter_ms: NonNegativeFloat = 0.0


class Scenario(Frozen):
    """The whole scenario file."""

    fleet: Name
    seed: int = 0
    start: Instant = 1_780_272_000.0  # 2026-06-01T00:00:00Z, a Monday
    duration: PositiveDuration
    warmup: Duration = 0.0
    slo: LatencySlo = LatencySlo()
    replica: ReplicaOptions = ReplicaOptions()
    multipliers: Mapping[str, PositiveFloat] = Field(default_factory=dict)
    """Live limit multipliers, ``<plan>:<window>`` -> factor (e.g. ``pro:five_hour: 2``)."""
    network: Mapping[Name, SiteNetwork] = Field(default_factory=dict)
    workload: Workload
    faults: FaultSettings = FaultSettings()
    scrape_interval_s: PositiveFloat | None = None
    """Engine-metric scrape and probe period (default: the fleet's routing.probes.interval_s)."""
    sample_interval_s: PositiveFloat = 60.0
    """Period of the time series in the report."""


class LoadedScenario:
    """A validated scenario with its fleet settings and resolved paths.

    `trace_text` holds the trace CSV's content once read (a sweep reads it on its driver so that
    the scenario is self-contained when pickled to a worker); None: read the file when run.
    """

    def __init__(self, scenario: Scenario, settings: Settings, source: Path) -> None:
        self.scenario = scenario
        self.settings = settings
        self.source = source
        self.trace_text: str | None = None

    def resolve(self, relative: str) -> Path:
        """A path given in the scenario, relative to the scenario file's folder."""
        path = Path(relative)
        return path if path.is_absolute() else self.source.parent / path


def check_against_fleet(scenario: Scenario, settings: Settings, source: str) -> None:
    """Refuse references the fleet does not have, naming the key path."""
    problems: list[str] = []
    sites = {site.id for site in settings.sites}
    models = {model.id for model in settings.models}
    tenants = {tenant.id for tenant in settings.tenants}
    for name in scenario.workload.model_mix:
        if name not in models:
            problems.append(f"workload.model_mix.{name}: unknown model (fleet: {sorted(models)})")
    for index, population in enumerate(scenario.workload.populations):
        if population.tenant is not None and population.tenant not in tenants:
            problems.append(
                f"workload.populations[{index}].tenant: unknown tenant {population.tenant!r}"
            )
    for name in scenario.network:
        if name not in sites:
            problems.append(f"network.{name}: unknown site (fleet: {sorted(sites)})")
    problems += scenario.faults.unknown_sites(sites)
    if scenario.warmup >= scenario.duration:
        problems.append(
            f"warmup: must be shorter than the duration ({scenario.duration:g} s), "
            f"got {scenario.warmup:g} s"
        )
    if scenario.workload.populations and not scenario.workload.model_mix:
        problems.append("workload.model_mix: required when populations are given")
    if not scenario.workload.populations and scenario.workload.trace is None:
        problems.append("workload: give populations, a trace, or both")
    if problems:
        raise ConfigurationError(f"{source}: invalid scenario\n  " + "\n  ".join(problems))


def scenario_from_mapping(data: Any, *, source: str, base: Path) -> LoadedScenario:
    """Validate parsed YAML into a scenario and load the fleet it names."""
    scenario = validate(Scenario, data, source=source, what="scenario")
    fleet_path = Path(scenario.fleet)
    if not fleet_path.is_absolute():
        fleet_path = base / fleet_path
    settings = load_settings(fleet_path)
    check_against_fleet(scenario, settings, source)
    return LoadedScenario(scenario, settings, base / "scenario.yaml")


def load_scenario(path: str | Path, *, seed: int | None = None) -> LoadedScenario:
    """Read a scenario file (and its fleet); `seed` overrides the file's seed."""
    file = Path(path)
    data = read_yaml(file)
    if seed is not None and isinstance(data, dict):
        data = {**data, "seed": seed}
    loaded = scenario_from_mapping(data, source=str(file), base=file.parent)
    loaded.source = file
    return loaded
