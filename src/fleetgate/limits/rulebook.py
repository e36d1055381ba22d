"""The rule book (pure): from the `limits:` settings to core inputs, the rules that apply to a
tenant's request and its costs; also what a request asks for (`AdmissionRequest`) and what limits
a tenant (`TenantLimits`).

A tenant on a plan is limited by its plan windows (`five_hour`, `seven_day`, an optional weekly
sub-limit for the request's model family, optional extra usage), all in one store key
``plan:<tenant>``. A tenant on a tier is limited by its organization's per-family buckets
(requests, input tokens, output tokens per minute) and, when it is a workspace, by the
workspace's own lower buckets, all in one key ``org:<organization>`` so that one atomic store
operation covers them. `count_tokens` has only its own requests bucket per organization.

Rules are rebuilt when the peak-hour spans they carry need refreshing (once a day).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, NamedTuple

from fleetgate.limits.catalog import LimitsCatalog
from fleetgate.limits.config import LimitsSettings, PlanSettings, TierSettings, WorkspaceLimits
from fleetgate.limits.peak import WEEKDAYS, PeakSchedule, parse_clock
from fleetgate.limits.rules import Costs, Dimension, Rule, RuleKind, Scope
from fleetgate.seams import Usage

FIVE_HOURS = 5 * 3600.0
SEVEN_DAYS = 7 * 86400.0
SPAN_DAYS = 8
REFRESH_SECONDS = 86400.0
WINDOW_RULES_KEPT = 10_000
"""Distinct plan window rules kept for reuse (accounts share them: 168 weekly phases)."""


class AdmissionRequest(NamedTuple):
    """What a request asks the limiter to admit, as the API shell knows it before calling
    upstream (a NamedTuple: immutable, and cheaper to build than a frozen dataclass)."""

    endpoint: str
    model_family: str
    estimated_input_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    max_output_tokens: int = 0
    model: str | None = None


def weekly_phase(tenant_id: str) -> float:
    """The fixed weekly reset phase of an account: a whole hour of the week from its id."""
    digest = hashlib.sha256(f"fleetgate-weekly:{tenant_id}".encode()).digest()
    return float(int.from_bytes(digest[:8], "big") % 168) * 3600.0


def peak_schedule(limits: LimitsSettings) -> PeakSchedule:
    """The configured peak schedule."""
    return PeakSchedule(
        timezone=limits.peak.timezone,
        weekdays=frozenset(WEEKDAYS.index(day) for day in limits.peak.days),
        start=parse_clock(limits.peak.start),
        end=parse_clock(limits.peak.end),
    )


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """What limits a tenant: `kind` none, plan or tier, the tenant, the store key, the plan or tier
    name, the organization, and the plan's or tier's settings."""

    kind: Literal["none", "plan", "tier"]
    tenant: str
    key: str
    name: str
    organization: str
    plan: PlanSettings | None = None
    tier: TierSettings | None = None


class RuleBook:
    """Builds rules and costs for requests from the `limits:` settings and the catalog."""

    def __init__(self, limits: LimitsSettings, catalog: LimitsCatalog) -> None:
        self.limits = limits
        self.catalog = catalog
        self.schedule = peak_schedule(limits)
        self._shadow = frozenset(limits.shadow)
        self._rules: dict[tuple[str, str, str], tuple[float, tuple[Rule, ...]]] = {}
        self._windows: dict[tuple[object, ...], Rule] = {}  # equal windows share one Rule
        self._reserves_output = limits.reserves_output
        self._weights: dict[str, tuple[float, float, float, float]] = {}

    # ------------------------------------------------------------------ who

    def tenant_limits(self, tenant_id: str, plan: str | None, tier: str | None) -> TenantLimits:
        """The plan or tier that limits `tenant_id` (unknown names are configuration errors)."""
        if plan is not None:
            settings = self.catalog.plans.get(plan)
            if settings is None:
                raise KeyError(plan)
            return TenantLimits(
                "plan", tenant_id, f"plan:{tenant_id}", plan, tenant_id, plan=settings
            )
        if tier is not None:
            tier_settings = self.catalog.tiers.get(tier)
            if tier_settings is None:
                raise KeyError(tier)
            workspace = self.limits.workspaces.get(tenant_id)
            org = workspace.organization if workspace is not None else tenant_id
            return TenantLimits("tier", tenant_id, f"org:{org}", tier, org, tier=tier_settings)
        return TenantLimits("none", tenant_id, "", "", tenant_id)

    # ------------------------------------------------------------------ rules

    def rules_for(
        self, who: TenantLimits, family: str, endpoint: str, now: float
    ) -> tuple[Rule, ...]:
        """The rules a request of `family` at `endpoint` must pass (cached, peak spans fresh)."""
        tenant_id = who.tenant
        cache_key = (tenant_id, family, endpoint)
        cached = self._rules.get(cache_key)
        if cached is not None and abs(now - cached[0]) < REFRESH_SECONDS:
            return cached[1]
        if who.kind == "plan" and who.plan is not None:
            rules = self.plan_rules(tenant_id, who.name, who.plan, (family,), endpoint, now)
        elif who.kind == "tier" and who.tier is not None:
            rules = self.tier_rules(who, family, endpoint)
        else:
            rules = ()
        self._rules[cache_key] = (now, rules)
        return rules

    def _window(
        self,
        name: str,
        kind: RuleKind,
        budget: float,
        spans: tuple[tuple[float, float], ...],
        multiplier_keys: tuple[str, ...] = (),
        phase: float = 0.0,
        floor_to_hour: bool = False,
    ) -> Rule:
        key = (name, kind, budget, spans, multiplier_keys, phase, floor_to_hour)
        made = self._windows.get(key)
        if made is None:
            if len(self._windows) >= WINDOW_RULES_KEPT:
                self._windows.clear()
            made = self._windows[key] = self._new_window(*key)
        return made

    def _new_window(
        self,
        name: str,
        kind: RuleKind,
        budget: float,
        spans: tuple[tuple[float, float], ...],
        multiplier_keys: tuple[str, ...],
        phase: float,
        floor_to_hour: bool,
    ) -> Rule:
        base = "five_hour" if name == "five_hour" else "seven_day"
        metered = bool(spans) and kind != "month" and base in self.limits.peak.windows
        periods = {"session": FIVE_HOURS, "fixed": SEVEN_DAYS}
        return Rule(
            id=name,
            name=name,
            kind=kind,
            dimension="units",
            scope="plan",
            limit=budget,
            capacity=budget,
            period=periods.get(kind, 0.0),
            phase=phase,
            floor_to_hour=floor_to_hour,
            overage=kind == "month",
            shadow=name in self._shadow,
            peak_factor=self.limits.peak.multiplier if metered else 1.0,
            peak_spans=spans if metered else (),
            multiplier_keys=multiplier_keys,
        )

    def plan_rules(
        self,
        tenant_id: str,
        plan_name: str,
        plan: PlanSettings,
        families: tuple[str, ...],
        endpoint: str,
        now: float,
    ) -> tuple[Rule, ...]:
        """Plan windows for `families` (count_tokens is free: no rules)."""
        if endpoint == "count_tokens":
            return ()
        spans = self.schedule.spans(now, SPAN_DAYS) if plan.peak_metering else ()
        phase = weekly_phase(tenant_id)
        weekly_key = f"{plan_name}:seven_day"
        rules = [
            self._window(
                "five_hour",
                "session",
                plan.five_hour,
                spans,
                (f"{plan_name}:five_hour",),
                floor_to_hour=plan.floor_session_to_hour,
            ),
            self._window("seven_day", "fixed", plan.seven_day, spans, (weekly_key,), phase),
        ]
        for family in families:
            share = plan.family_weekly.get(family)
            if share is not None:
                name = f"seven_day_{family}"
                keys = (weekly_key, f"{plan_name}:{name}")
                rules.append(
                    self._window(name, "fixed", plan.seven_day * share, spans, keys, phase)
                )
        if plan.extra_usage_monthly_units is not None:
            rules.append(self._window("extra_usage", "month", plan.extra_usage_monthly_units, ()))
        return tuple(rules)

    def _bucket(
        self,
        rule_id: str,
        name: str,
        scope: Scope,
        dimension: Dimension,
        per_minute: int,
        burst_seconds: float,
    ) -> Rule:
        return Rule(
            id=rule_id,
            name=name,
            kind="bucket",
            dimension=dimension,
            scope=scope,
            limit=float(per_minute),
            capacity=max(1.0, per_minute * burst_seconds / 60.0),
            rate=per_minute / 60.0,
            shadow=name in self._shadow,
        )

    def tier_rules(self, who: TenantLimits, family: str, endpoint: str) -> tuple[Rule, ...]:
        """Organization buckets (and workspace buckets) for one family, or count_tokens."""
        tenant_id = who.tenant
        tier = who.tier
        assert tier is not None
        burst = tier.burst_seconds or self.limits.burst_seconds
        if endpoint == "count_tokens":
            rpm = tier.count_tokens_rpm
            if rpm is None:
                row = self.catalog.tier_row(tier, family)
                rpm = row[1].rpm if row is not None else None
            if rpm is None:
                return ()
            return (
                self._bucket(
                    "org:count_tokens", "count_tokens", "organization", "requests", rpm, burst
                ),
            )
        found = self.catalog.tier_row(tier, family)
        if found is None:
            return ()
        bucket_family, row = found
        rules = [
            self._bucket(
                f"org:{bucket_family}:rpm", "requests", "organization", "requests", row.rpm, burst
            ),
            self._bucket(
                f"org:{bucket_family}:itpm",
                "input_tokens",
                "organization",
                "input_tokens",
                row.itpm,
                burst,
            ),
            self._bucket(
                f"org:{bucket_family}:otpm",
                "output_tokens",
                "organization",
                "output_tokens",
                row.otpm,
                burst,
            ),
        ]
        workspace = self.limits.workspaces.get(tenant_id)
        if workspace is not None:
            caps = workspace.families.get(family, workspace.default)
            rules += self._workspace_rules(tenant_id, bucket_family, caps, burst)
        return tuple(rules)

    def _workspace_rules(
        self, tenant_id: str, family: str, caps: WorkspaceLimits, burst: float
    ) -> list[Rule]:
        rules = []
        table: tuple[tuple[int | None, Dimension, str], ...] = (
            (caps.rpm, "requests", "rpm"),
            (caps.itpm, "input_tokens", "itpm"),
            (caps.otpm, "output_tokens", "otpm"),
        )
        for per_minute, dimension, suffix in table:
            if per_minute is not None:
                rules.append(
                    self._bucket(
                        f"ws:{tenant_id}:{family}:{suffix}",
                        dimension,
                        "workspace",
                        dimension,
                        per_minute,
                        burst,
                    )
                )
        return rules

    # ------------------------------------------------------------------ costs

    def _cache_reads_count(self, who: TenantLimits, family: str) -> bool:
        if who.tier is None:
            return False
        row = self.catalog.tier_row(who.tier, family)
        return row is not None and row[1].cache_reads_count

    def _weights_of(self, family: str) -> tuple[float, float, float, float]:
        """Cost units per (input, cache write, cache read, output) token of `family`."""
        w = self.catalog.weights_for(family)
        weights = self._weights[family] = (w.input, w.cache_write, w.cache_read, w.output)
        return weights

    def costs(self, who: TenantLimits, request: AdmissionRequest) -> Costs:
        """What `request` reserves at admission."""
        output = request.max_output_tokens if self._reserves_output else 0
        return self.costs_of(
            who,
            request.model_family,
            request.estimated_input_tokens,
            request.cache_creation_tokens,
            request.cache_read_tokens,
            output,
        )

    def actual_costs(self, who: TenantLimits, request: AdmissionRequest, usage: Usage) -> Costs:
        """What a request really cost: exactly the usage given (partial usage included)."""
        return self.costs_of(
            who,
            request.model_family,
            usage.input_tokens,
            usage.cache_creation_input_tokens,
            usage.cache_read_input_tokens,
            usage.output_tokens,
        )

    def costs_of(
        self, who: TenantLimits, family: str, fresh: int, written: int, read: int, output: int
    ) -> Costs:
        """What `fresh` input, `written` and `read` cache and `output` tokens of `family` cost."""
        input_tokens = fresh + written
        if read and who.tier is not None and self._cache_reads_count(who, family):
            input_tokens += read
        if who.kind != "plan":
            units = 0.0
        else:
            w_input, w_write, w_read, w_output = self._weights.get(family) or self._weights_of(
                family
            )
            units = fresh * w_input + written * w_write + read * w_read
            units += output * w_output
        # `Costs(...)` without its generated `__new__`: two are built for every request
        return tuple.__new__(Costs, (1.0, float(input_tokens), float(output), units))
