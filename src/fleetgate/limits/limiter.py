"""The one limiter (synchronous, pure): admit and settle a request against its tenant's limits.

The gateway and the simulator call this same class. `Limiter` turns a tenant and an
`AdmissionRequest` into rules and costs (`RuleBook`), turns the store's `Decision` into an
`Admission` (with the headers of the successful answer) or a `Refusal` (the rule that refuses
longest, the retry-after and the inputs of the 429's headers and texts), and turns the usage of a
finished request into what settlement must write (`ToSettle`). It does no I/O and reads no clock:
every call takes `now`.

`admit` and `settle` run a whole admission or settlement on the synchronous in-memory store (the
simulator, on its virtual clock). The gateway runs the same steps over its async store
(``memory://`` or Redis) through `fleetgate.limits.stores.guard.GuardedLimiter`: `ask` -> the
store's atomic decision -> `answer`, and `to_settle` -> the store's atomic settlement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from fleetgate.errors import ConfigurationError, InvalidRequest, RateLimited
from fleetgate.limits import headers as hdr
from fleetgate.limits import messages
from fleetgate.limits.catalog import LimitsCatalog
from fleetgate.limits.config import Account, LimitsSettings
from fleetgate.limits.core import peak_factor_at
from fleetgate.limits.rulebook import AdmissionRequest, RuleBook, TenantLimits
from fleetgate.limits.rules import Charge, Costs, Decision, Rule, RuleStatus
from fleetgate.limits.stores.memory import MemoryStore
from fleetgate.seams import Usage

ENDPOINTS = ("messages", "count_tokens", "chat")
TOKEN_FIELDS = (
    "estimated_input_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "max_output_tokens",
)


class Ask(NamedTuple):
    """One request, ready for the store: who asks, what, the rules it must pass and its costs
    (no rules: the tenant is not limited)."""

    who: TenantLimits
    request: AdmissionRequest
    rules: tuple[Rule, ...]
    costs: Costs


@dataclass(eq=False, slots=True)
class Admission:
    """An admitted request: what was reserved, and the headers of its successful response.

    `decision` is None when no limit was checked (an unlimited tenant, or a store that failed
    open); `settled` turns true once its usage was charged (settlement happens once)."""

    ask: Ask
    decision: Decision | None
    warning_threshold: float = 0.8
    settled: bool = False

    @property
    def limited(self) -> bool:
        """Whether any limit was checked (false: unlimited tenant, or the store failed open)."""
        return self.decision is not None

    def headers(self, api: Literal["anthropic", "openai"] = "anthropic") -> dict[str, str]:
        """Rate-limit headers for the successful response on the `api` endpoint."""
        decision = self.decision
        if decision is None:
            return {}
        rules = self.ask.rules
        if self.ask.who.kind == "plan":
            return hdr.unified_headers(rules, decision, self.warning_threshold)
        if api == "openai":
            return hdr.openai_headers(rules, decision.statuses, decision.now)
        return hdr.anthropic_headers(rules, decision.statuses, decision.now)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request: the rule that refuses longest, when to retry, and what the 429's
    headers and texts are made of (the ask and the decision)."""

    rule: Rule
    status: RuleStatus
    retry_after: float
    ask: Ask
    decision: Decision
    warning_threshold: float = 0.8

    def error(self) -> RateLimited:
        """The 429 answer: the exact headers and texts of the API the request came in on."""
        rule, status, decision = self.rule, self.status, self.decision
        who, request, rules = self.ask.who, self.ask.request, self.ask.rules
        requested = self.ask.costs.of(rule.dimension) * peak_factor_at(rule, decision.now)
        model = request.model or request.model_family
        openai_text = messages.openai_message(rule, status, requested, model, who.organization)
        if who.kind == "plan":
            headers = hdr.unified_headers(rules, decision, self.warning_threshold)
            headers.update(hdr.refusal_headers(self.retry_after))
            return RateLimited(
                messages.plan_message(rule, status),
                headers=headers,
                openai_type="tokens",
                openai_message=openai_text,
            )
        if request.endpoint == "chat":
            headers = hdr.openai_headers(rules, decision.statuses, decision.now)
        else:
            headers = hdr.anthropic_headers(rules, decision.statuses, decision.now)
        headers.update(hdr.refusal_headers(self.retry_after))
        workspace = who.tenant if rule.scope == "workspace" else None
        return RateLimited(
            messages.anthropic_tier_message(rule, who.organization, workspace),
            headers=headers,
            openai_type="requests" if rule.dimension == "requests" else "tokens",
            openai_message=openai_text,
        )


class ToSettle(NamedTuple):
    """What settling one admission writes: the store key, its rules, the charges of the
    admission and what the request really cost."""

    key: str
    rules: tuple[Rule, ...]
    charges: tuple[Charge, ...]
    actual: Costs


class Limiter:
    """Plan and tier limits for every tenant: rules and costs in, admissions and refusals out."""

    def __init__(self, config: LimitsSettings, accounts: Iterable[Account] = ()) -> None:
        self.config = config
        self.catalog = LimitsCatalog.from_settings(config)
        self.rulebook = RuleBook(config, self.catalog)
        self._who: dict[tuple[str, str | None, str | None], TenantLimits] = {}
        self._check(tuple(accounts))

    # ------------------------------------------------------------------ who

    def _check(self, accounts: tuple[Account, ...]) -> None:
        for index, account in enumerate(accounts):
            self.limits_of(account.id, account.plan, account.tier, where=f"tenants[{index}]")
        ids = {account.id for account in accounts}
        for name in self.config.workspaces:
            if ids and name not in ids:
                raise ConfigurationError(f"limits.workspaces.{name}: unknown tenant {name!r}")

    def limits_of(
        self, tenant_id: str, plan: str | None, tier: str | None, where: str = "tenant"
    ) -> TenantLimits:
        """The plan or tier limiting `tenant_id` (an unknown name is a ConfigurationError that
        names the setting at `where`)."""
        cache_key = (tenant_id, plan, tier)
        who = self._who.get(cache_key)
        if who is not None:
            return who
        try:
            who = self.rulebook.tenant_limits(tenant_id, plan, tier)
        except KeyError as exc:
            field_name, known = (
                ("plan", self.catalog.plans) if plan is not None else ("tier", self.catalog.tiers)
            )
            raise ConfigurationError(
                f"{where}.{field_name}: expected one of {sorted(known)}, got {exc.args[0]!r}"
            ) from exc
        self._who[cache_key] = who
        return who

    # ------------------------------------------------------------------ admission

    @staticmethod
    def _validate(request: AdmissionRequest) -> None:
        if request.endpoint not in ENDPOINTS:
            raise InvalidRequest(f"unknown endpoint {request.endpoint!r} for rate limiting")
        _, _, fresh, written, read, output, _ = request
        if type(fresh) is type(written) is type(read) is type(output) is int and (
            fresh >= 0 and written >= 0 and read >= 0 and output >= 0
        ):
            return  # the common case, checked without a loop (the simulator asks millions)
        for name in TOKEN_FIELDS:
            value = getattr(request, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidRequest(f"{name}: expected a non-negative integer, got {value!r}")

    def ask(self, who: TenantLimits, request: AdmissionRequest, now: float) -> Ask:
        """The rules `request` must pass at `now` (peak hours included) and its costs; an
        invalid request raises `InvalidRequest`."""
        self._validate(request)
        rules = self.rulebook.rules_for(who, request.model_family, request.endpoint, now)
        costs = self.rulebook.costs(who, request) if rules else Costs()
        return Ask(who, request, rules, costs)

    def answer(self, ask: Ask, decision: Decision | None) -> Admission | Refusal:
        """The store's `decision` on `ask` as an admission or a refusal (None: nothing was
        checked, the request is admitted without limits)."""
        threshold = self.config.warning_threshold
        if decision is None or decision.admitted:
            return Admission(ask, decision, threshold)
        index = max(decision.blocking, key=lambda i: decision.statuses[i].wait)
        return Refusal(
            ask.rules[index],
            decision.statuses[index],
            decision.retry_after,
            ask,
            decision,
            threshold,
        )

    def admit(
        self, who: TenantLimits, request: AdmissionRequest, now: float, store: MemoryStore
    ) -> Admission | Refusal:
        """Admit `request` against every limit of `who` at once on `store`, or refuse it."""
        ask = self.ask(who, request, now)
        if not ask.rules:
            return self.answer(ask, None)
        return self.answer(ask, store.admit(who.key, ask.rules, ask.costs, now))

    # ------------------------------------------------------------------ settlement

    def to_settle(self, admission: Admission, usage: Usage) -> ToSettle | None:
        """What settling `admission` with what it really used writes (None: nothing, as no
        limit was charged)."""
        decision = admission.decision
        if decision is None or not decision.charges:
            return None
        ask = admission.ask
        actual = self.rulebook.actual_costs(ask.who, ask.request, usage)
        return ToSettle(ask.who.key, ask.rules, decision.charges, actual)

    def settle(self, admission: Admission, usage: Usage, now: float, store: MemoryStore) -> bool:
        """Charge what the request really used on `store`, once: a second call returns False."""
        if admission.settled:
            return False
        admission.settled = True
        decision = admission.decision
        if decision is not None and decision.charges:  # `to_settle`, without its tuple
            ask = admission.ask
            actual = self.rulebook.actual_costs(ask.who, ask.request, usage)
            store.settle(ask.who.key, ask.rules, decision.charges, actual, now)
        return True

    # ------------------------------------------------------------------ reports

    def report_rules(self, who: TenantLimits, now: float) -> tuple[Rule, ...]:
        """Every rule a usage report shows for `who`: each plan window (with every family's
        weekly sub-limit), or each bucket of every tier family and count_tokens."""
        book = self.rulebook
        if who.kind == "plan" and who.plan is not None:
            families = tuple(who.plan.family_weekly)
            return book.plan_rules(who.tenant, who.name, who.plan, families, "messages", now)
        if who.kind == "tier" and who.tier is not None:
            rules: dict[str, Rule] = {}
            for family in who.tier.families:
                for rule in book.tier_rules(who, family, "messages"):
                    rules.setdefault(rule.id, rule)
            for rule in book.tier_rules(who, "", "count_tokens"):
                rules.setdefault(rule.id, rule)
            return tuple(rules.values())
        return ()

    @staticmethod
    def usage_report(
        who: TenantLimits, rules: tuple[Rule, ...], statuses: tuple[RuleStatus, ...]
    ) -> dict[str, Any]:
        """Each window's (plans) or bucket's (tiers) utilization 0..100 and reset time."""
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

    # ------------------------------------------------------------------ multipliers

    def multiplier_name(self, plan: str, window: str, factor: float) -> str:
        """The store name (``<plan>:<window>``) of a live multiplier, after checking the plan,
        the window and the factor (`InvalidRequest` names what is wrong)."""
        if plan not in self.catalog.plans:
            raise InvalidRequest(
                f"plan: expected one of {sorted(self.catalog.plans)}, got {plan!r}"
            )
        family_windows = (f"seven_day_{f}" for f in self.catalog.plans[plan].family_weekly)
        windows = ("five_hour", "seven_day", *family_windows)
        if window not in windows:
            raise InvalidRequest(f"window: expected one of {list(windows)}, got {window!r}")
        top = self.config.max_multiplier
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not math.isfinite(factor)
            or not 0 < factor <= top
        ):
            raise InvalidRequest(
                f"factor: expected a number above 0 and at most {top:g}, got {factor!r}"
            )
        return f"{plan}:{window}"
