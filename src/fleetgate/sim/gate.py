"""The real limits engine on the virtual clock: the gateway's policy and pure core, in memory.

Owns admission and settlement for simulated requests. It builds rules and costs with the same
`fleetgate.limits.policy.Policy` the gateway's `Limiter` uses and runs `fleetgate.limits.core`
`decide` and `settle` directly with `now` = virtual time over a dict of per-key states (exactly
what the memory store does, without asyncio). Live multipliers come from the scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fleetgate.errors import ConfigurationError
from fleetgate.limits import core
from fleetgate.limits.catalog import Catalog
from fleetgate.limits.model import Decision, Rule, State
from fleetgate.limits.policy import Demand, Policy, TenantLimits
from fleetgate.settings import Settings


@dataclass(slots=True)
class Ticket:
    """An admitted request's reservation, to settle once it ends."""

    key: str
    who: TenantLimits
    demand: Demand
    rules: tuple[Rule, ...]
    decision: Decision | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: the rule (name) that blocks longest, and when to retry."""

    limit: str
    retry_after: float


class LimitsGate:
    """Plan windows and tier buckets for every simulated user."""

    def __init__(self, settings: Settings, multipliers: Mapping[str, float]) -> None:
        self.catalog = Catalog.from_settings(settings.limits)
        self.policy = Policy(settings.limits, self.catalog)
        self.multipliers = dict(multipliers)
        self.states: dict[str, State] = {}
        self._who: dict[tuple[str, str | None, str | None], TenantLimits] = {}
        self.admissions = 0
        self.settlements = 0
        for name in self.multipliers:
            plan = name.split(":", 1)[0]
            if ":" not in name or plan not in self.catalog.plans:
                raise ConfigurationError(
                    f"multipliers.{name}: expected '<plan>:<window>' with a plan of "
                    f"{sorted(self.catalog.plans)}"
                )

    def who(self, user: str, plan: str | None, tier: str | None, where: str) -> TenantLimits:
        """The plan or tier limiting `user` (unknown names: ConfigurationError at `where`)."""
        cache_key = (user, plan, tier)
        found = self._who.get(cache_key)
        if found is None:
            try:
                found = self.policy.tenant_limits(user, plan, tier)
            except KeyError as exc:
                field, known = (
                    ("plan", self.catalog.plans) if plan else ("tier", self.catalog.tiers)
                )
                raise ConfigurationError(
                    f"{where}.{field}: expected one of {sorted(known)}, got {exc.args[0]!r}"
                ) from exc
            self._who[cache_key] = found
        return found

    def admit(self, who: TenantLimits, user: str, demand: Demand, now: float) -> Ticket | Refusal:
        """Admit against every rule at once, or say which limit refused."""
        rules = self.policy.rules_for(user, who, demand.model_family, demand.endpoint, now)
        if not rules:
            return Ticket(who.key, who, demand, rules, None)
        costs = self.policy.costs(who, demand)
        state = self.states.get(who.key)
        if state is None:
            state = self.states[who.key] = {}
        decision = core.decide(rules, state, self.multipliers, costs, now)
        self.admissions += 1
        if not decision.admitted:
            index = max(decision.blocking, key=lambda i: decision.statuses[i].wait)
            return Refusal(rules[index].name, decision.retry_after)
        if decision.updates:
            state.update(decision.updates)
        return Ticket(who.key, who, demand, rules, decision)

    def settle(
        self, ticket: Ticket | None, fresh: int, output: int, cached: int, now: float
    ) -> None:
        """Replace the reservation by what the request really used: `fresh` (uncached) input,
        `output` and `cached` (cache read) tokens, as `Policy.actual_costs` of that usage."""
        if ticket is None:
            return
        decision = ticket.decision
        if decision is None or not decision.charges:
            return
        actual = self.policy.costs_of(ticket.who, ticket.demand.model_family, fresh, 0, cached,
                                      output)  # fmt: skip
        state = self.states[ticket.key]
        settlement = core.settle(ticket.rules, state, decision.charges, actual, now)
        self.settlements += 1
        if settlement.updates:
            state.update(settlement.updates)
