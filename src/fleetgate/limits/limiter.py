"""The limiter facade the gateway calls: admit, settle exactly once, report usage, multipliers.

`Limiter(settings, store, clock)` turns a tenant and a `Demand` into rules and costs (policy),
lets the store run the pure core atomically, and turns refusals into `RateLimited` with the exact
headers and texts. With ``clock=None`` the store's own clock is used (Redis: server time); a
`ManualClock` gives the simulator and tests full control of time.

Store failures follow ``limits.on_store_error``: ``open`` admits without limits (and without
headers), ``closed`` answers `Overloaded`; either way the failure is counted in
`store_errors`, logged once per outage, and settlements that could not be written are kept (up
to ``limits.pending_settlements``) and written when the store answers again.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetgate.errors import (
    ConfigurationError,
    InvalidRequest,
    Overloaded,
    RateLimited,
    StoreUnavailable,
)
from fleetgate.limits import headers as hdr
from fleetgate.limits import messages
from fleetgate.limits.catalog import Catalog
from fleetgate.limits.core import peak_factor_at
from fleetgate.limits.model import Charge, Costs, Decision, Rule
from fleetgate.limits.policy import Demand, Policy, TenantLimits
from fleetgate.limits.store import LimitStore
from fleetgate.settings import Settings, TenantSettings
from fleetgate.types import Clock, Usage

__all__ = ["Admission", "Demand", "Limiter"]

STORE_ERRORS = (StoreUnavailable, OSError, TimeoutError)
ENDPOINTS = ("messages", "count_tokens", "chat")
LOG = logging.getLogger("fleetgate.limits")


@dataclass(eq=False)
class Admission:
    """An admitted request: what was reserved, and the headers of its successful response."""

    tenant_id: str
    who: TenantLimits
    demand: Demand
    rules: tuple[Rule, ...]
    costs: Costs
    decision: Decision | None
    warning_threshold: float = 0.8
    settled: bool = field(default=False)

    @property
    def limited(self) -> bool:
        """Whether any limit was checked (false: unlimited tenant, or the store failed open)."""
        return self.decision is not None

    def headers(self, api: Literal["anthropic", "openai"] = "anthropic") -> dict[str, str]:
        """Rate-limit headers for the successful response on the `api` endpoint."""
        decision = self.decision
        if decision is None:
            return {}
        if self.who.kind == "plan":
            return hdr.unified_headers(self.rules, decision, self.warning_threshold)
        if api == "openai":
            return hdr.openai_headers(self.rules, decision.statuses, decision.now)
        return hdr.anthropic_headers(self.rules, decision.statuses, decision.now)


@dataclass(frozen=True, slots=True)
class _Pending:
    key: str
    rules: tuple[Rule, ...]
    charges: tuple[Charge, ...]
    actual: Costs


class Limiter:
    """Plan and tier limits for every tenant, over one `LimitStore`."""

    def __init__(self, settings: Settings, store: LimitStore, clock: Clock | None = None) -> None:
        self.limits = settings.limits
        self.catalog = Catalog.from_settings(self.limits)
        self.policy = Policy(self.limits, self.catalog)
        self.store = store
        self.clock = clock
        self.store_errors = 0
        self._store_down = False
        self._pending: deque[_Pending] = deque()
        self._who: dict[tuple[str, str | None, str | None], TenantLimits] = {}
        self._check(settings)

    # ------------------------------------------------------------------ set-up

    def _check(self, settings: Settings) -> None:
        for index, tenant in enumerate(settings.tenants):
            self._who_for(tenant, where=f"tenants[{index}]")
        tenant_ids = {tenant.id for tenant in settings.tenants}
        for name in self.limits.workspaces:
            if tenant_ids and name not in tenant_ids:
                raise ConfigurationError(f"limits.workspaces.{name}: unknown tenant {name!r}")

    def _who_for(self, tenant: TenantSettings, where: str = "tenant") -> TenantLimits:
        cache_key = (tenant.id, tenant.plan, tenant.tier)
        who = self._who.get(cache_key)
        if who is not None:
            return who
        try:
            who = self.policy.tenant_limits(tenant.id, tenant.plan, tenant.tier)
        except KeyError as exc:
            field_name, known = (
                ("plan", self.catalog.plans)
                if tenant.plan is not None
                else ("tier", self.catalog.tiers)
            )
            raise ConfigurationError(
                f"{where}.{field_name}: expected one of {sorted(known)}, got {exc.args[0]!r}"
            ) from exc
        self._who[cache_key] = who
        return who

    def _now(self) -> float | None:
        return None if self.clock is None else self.clock.now()

    def _now_hint(self) -> float:
        return time.time() if self.clock is None else self.clock.now()

    # ------------------------------------------------------------------ store health

    def _store_failed(self, operation: str, exc: BaseException) -> None:
        self.store_errors += 1
        if not self._store_down:
            self._store_down = True
            LOG.warning(
                "limits store unavailable during %s (%s); failing %s",
                operation,
                exc,
                self.limits.on_store_error,
            )

    @property
    def store_down(self) -> bool:
        """Whether the last store call failed (the outage is not over yet)."""
        return self._store_down

    def _store_ok(self) -> None:
        if self._store_down:
            self._store_down = False
            LOG.warning("limits store reachable again")

    async def _flush_pending(self) -> None:
        while self._pending:
            item = self._pending[0]
            await self.store.settle(item.key, item.rules, item.charges, item.actual, self._now())
            self._pending.popleft()

    def _keep_pending(self, item: _Pending) -> None:
        if len(self._pending) >= self.limits.pending_settlements:
            self._pending.popleft()
            LOG.warning("limits: dropped the oldest unwritten settlement (queue full)")
        self._pending.append(item)

    @property
    def pending_settlements(self) -> int:
        """Settlements waiting for the store to answer again."""
        return len(self._pending)

    # ------------------------------------------------------------------ admission

    @staticmethod
    def _validate(demand: Demand) -> None:
        if demand.endpoint not in ENDPOINTS:
            raise InvalidRequest(f"unknown endpoint {demand.endpoint!r} for rate limiting")
        for name in (
            "estimated_input_tokens",
            "cache_creation_tokens",
            "cache_read_tokens",
            "max_output_tokens",
        ):
            value = getattr(demand, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidRequest(f"{name}: expected a non-negative integer, got {value!r}")

    async def admit(self, tenant: TenantSettings, demand: Demand) -> Admission:
        """Admit `demand` against every limit of `tenant` at once, or raise `RateLimited`."""
        self._validate(demand)
        who = self._who_for(tenant)
        rules = self.policy.rules_for(
            tenant.id, who, demand.model_family, demand.endpoint, self._now_hint()
        )
        costs = self.policy.costs(who, demand) if rules else Costs()
        threshold = self.limits.warning_threshold
        if not rules:
            return Admission(tenant.id, who, demand, rules, costs, None, threshold)
        try:
            await self._flush_pending()
            decision = await self.store.admit(who.key, rules, costs, self._now())
        except STORE_ERRORS as exc:
            self._store_failed("admission", exc)
            if self.limits.on_store_error == "open":
                return Admission(tenant.id, who, demand, rules, costs, None, threshold)
            raise Overloaded(
                "Rate limits cannot be checked right now; please retry shortly."
            ) from exc
        self._store_ok()
        admission = Admission(tenant.id, who, demand, rules, costs, decision, threshold)
        if not decision.admitted:
            raise self._refusal(admission, decision)
        return admission

    def _refusal(self, admission: Admission, decision: Decision) -> RateLimited:
        rules, who, demand = admission.rules, admission.who, admission.demand
        index = max(decision.blocking, key=lambda i: decision.statuses[i].wait)
        rule, status = rules[index], decision.statuses[index]
        requested = admission.costs.of(rule.dimension) * peak_factor_at(rule, decision.now)
        model = demand.model or demand.model_family
        openai_text = messages.openai_message(rule, status, requested, model, who.organization)
        wait = decision.retry_after
        if who.kind == "plan":
            headers = hdr.unified_headers(rules, decision, admission.warning_threshold)
            headers.update(hdr.refusal_headers(wait))
            return RateLimited(
                messages.plan_message(rule, status),
                headers=headers,
                openai_type="tokens",
                openai_message=openai_text,
            )
        if demand.endpoint == "chat":
            headers = hdr.openai_headers(rules, decision.statuses, decision.now)
        else:
            headers = hdr.anthropic_headers(rules, decision.statuses, decision.now)
        headers.update(hdr.refusal_headers(wait))
        workspace = admission.tenant_id if rule.scope == "workspace" else None
        return RateLimited(
            messages.anthropic_tier_message(rule, who.organization, workspace),
            headers=headers,
            openai_type="requests" if rule.dimension == "requests" else "tokens",
            openai_message=openai_text,
        )

    # ------------------------------------------------------------------ settlement

    async def settle(self, admission: Admission, usage: Usage) -> bool:
        """Charge what the request really used, once: a second call returns False."""
        if admission.settled:
            return False
        admission.settled = True
        decision = admission.decision
        if decision is None or not decision.charges:
            return True
        actual = self.policy.actual_costs(admission.who, admission.demand, usage)
        item = _Pending(admission.who.key, admission.rules, decision.charges, actual)
        try:
            await self._flush_pending()
            await self.store.settle(item.key, item.rules, item.charges, item.actual, self._now())
        except STORE_ERRORS as exc:
            self._store_failed("settlement", exc)
            self._keep_pending(item)
            return True
        self._store_ok()
        return True

    # ------------------------------------------------------------------ reports

    def _report_rules(self, tenant: TenantSettings, who: TenantLimits) -> tuple[Rule, ...]:
        now = self._now_hint()
        if who.kind == "plan" and who.plan is not None:
            families = tuple(who.plan.family_weekly)
            return self.policy.plan_rules(tenant.id, who.name, who.plan, families, "messages", now)
        if who.kind == "tier" and who.tier is not None:
            rules: dict[str, Rule] = {}
            for family in who.tier.families:
                for rule in self.policy.tier_rules(tenant.id, who, family, "messages"):
                    rules.setdefault(rule.id, rule)
            for rule in self.policy.tier_rules(tenant.id, who, "", "count_tokens"):
                rules.setdefault(rule.id, rule)
            return tuple(rules.values())
        return ()

    async def usage_report(self, tenant: TenantSettings) -> dict[str, Any]:
        """Each window's (plans) or bucket's (tiers) utilization 0..100 and reset time."""
        who = self._who_for(tenant)
        rules = self._report_rules(tenant, who)
        if not rules:
            return {}
        try:
            statuses, _now = await self.store.peek(who.key, rules, self._now())
        except STORE_ERRORS as exc:
            self._store_failed("usage report", exc)
            raise Overloaded("Usage cannot be read right now; please retry shortly.") from exc
        self._store_ok()
        report: dict[str, Any] = {}
        for rule, status in zip(rules, statuses, strict=True):
            entry: dict[str, Any] = {
                "utilization": round(status.utilization * 100.0, 1),
                "resets_at": None if status.reset_at is None else hdr.rfc3339(status.reset_at),
            }
            if who.kind == "plan":
                if rule.overage:
                    entry.update(
                        is_enabled=True,
                        monthly_limit=status.capacity,
                        used_credits=round(status.used, 2),
                    )
                report[rule.name] = entry
            else:
                entry.update(
                    limit=int(rule.limit),
                    remaining=hdr.whole(status.remaining),
                    scope=rule.scope,
                    dimension=rule.name,
                )
                report[rule.id] = entry
        if who.kind == "plan" and "extra_usage" not in report:
            report["extra_usage"] = {"is_enabled": False}
        return report

    async def close(self) -> None:
        """Close the store (pending settlements are tried one last time)."""
        try:
            await self._flush_pending()
        except STORE_ERRORS as exc:
            self._store_failed("close", exc)
            LOG.warning("limits: %d settlements could not be written", len(self._pending))
        await self.store.close()

    # ------------------------------------------------------------------ multipliers

    def _windows_of(self, plan: str) -> tuple[str, ...]:
        settings = self.catalog.plans[plan]
        return ("five_hour", "seven_day", *tuple(f"seven_day_{f}" for f in settings.family_weekly))

    async def set_multiplier(self, plan: str, window: str, factor: float) -> None:
        """Scale one plan window's budget for every replica, from the next request on."""
        if plan not in self.catalog.plans:
            raise InvalidRequest(
                f"plan: expected one of {sorted(self.catalog.plans)}, got {plan!r}"
            )
        windows = self._windows_of(plan)
        if window not in windows:
            raise InvalidRequest(f"window: expected one of {list(windows)}, got {window!r}")
        top = self.limits.max_multiplier
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not math.isfinite(factor)
            or not 0 < factor <= top
        ):
            raise InvalidRequest(
                f"factor: expected a number above 0 and at most {top:g}, got {factor!r}"
            )
        try:
            await self.store.set_multiplier(f"{plan}:{window}", float(factor))
        except STORE_ERRORS as exc:
            self._store_failed("set multiplier", exc)
            raise Overloaded("Multipliers cannot be stored right now; please retry.") from exc
        self._store_ok()

    async def get_multipliers(self) -> dict[str, float]:
        """Every live multiplier, ``<plan>:<window>`` -> factor (absent means 1)."""
        try:
            found = await self.store.get_multipliers()
        except STORE_ERRORS as exc:
            self._store_failed("get multipliers", exc)
            raise Overloaded("Multipliers cannot be read right now; please retry.") from exc
        self._store_ok()
        return dict(sorted(found.items()))
