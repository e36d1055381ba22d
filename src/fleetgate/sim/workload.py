"""The workload: who sends which request when, as populations of users working in sessions.

Owns turning the `workload:` section into requests. Each population (users of a plan, or
organizations of an API tier) starts sessions as a Poisson process shaped by the day curve; a
session picks a user (heavy users are picked more: log-normal weights), a model from the mix and
a kind: one call, a chat whose prompts carry the whole history, or an agentic coding burst of
many calls over a context that grows with every tool result. Every generator has its own
`random.Random` seeded from the scenario seed and its key path, so one population's draws never
depend on another's.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass

from fleetgate.errors import ConfigurationError
from fleetgate.limits.rulebook import TenantLimits
from fleetgate.settings import Settings, TenantSettings
from fleetgate.sim.draws import Sampler
from fleetgate.sim.scenario import Population, Workload
from fleetgate.workload.curve import DayCurve


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a request comes from, as limits and routing see it."""

    label: str
    tenant: TenantSettings
    plan: str | None
    tier: str | None
    retries: int
    max_tokens: int

    @property
    def kind(self) -> str:
        """'plan', 'tier' or 'none'."""
        return "plan" if self.plan else "tier" if self.tier else "none"


class Session:
    """A run of calls by one user on one model; `context` grows as the session goes on."""

    __slots__ = (
        "affinity_key",
        "calls_left",
        "context",
        "id",
        "kind",
        "last_backend",
        "limits",
        "model_id",
        "prefix",
        "user",
    )

    def __init__(self, sid: int, kind: str, user: str, model_id: str, calls: int, context: int):
        self.id = sid
        self.kind = kind
        self.user = user
        self.model_id = model_id
        self.calls_left = calls
        self.context = context
        self.prefix = 0
        self.last_backend: str | None = None
        self.affinity_key = f"{user}/{sid}"
        self.limits: TenantLimits | None = None  # the user's plan or tier, once looked up


class RequestSpec:
    """One request a session (or a trace line) sends."""

    __slots__ = (
        "audience",
        "cached_tokens",
        "max_tokens",
        "model_id",
        "output_tokens",
        "prompt_tokens",
        "session",
        "user",
    )

    def __init__(
        self,
        audience: Audience,
        user: str,
        model_id: str,
        prompt_tokens: int,
        cached_tokens: int,
        output_tokens: int,
        session: Session | None,
    ) -> None:
        self.audience = audience
        self.user = user
        self.model_id = model_id
        self.prompt_tokens = prompt_tokens
        self.cached_tokens = cached_tokens
        self.output_tokens = min(output_tokens, audience.max_tokens)
        self.max_tokens = audience.max_tokens
        self.session = session


def audience_for(population: Population, settings: Settings, where: str) -> Audience:
    """The limits and routing identity of a population (its fleet tenant's placement)."""
    base = settings.tenant(population.tenant) if population.tenant else None
    plan = population.plan or (base.plan if base and not population.tier else None)
    tier = population.tier or (base.tier if base and not population.plan else None)
    if plan is None and tier is None:
        raise ConfigurationError(f"{where}: tenant {population.tenant!r} has no plan or tier")
    label = population.label
    tenant = TenantSettings(
        id=f"sim:{label}",
        plan=plan,
        tier=tier,
        priority=base.priority if base else None,
        placement=base.placement if base else TenantSettings(id="x").placement,
    )
    return Audience(label, tenant, plan, tier, population.client_retries, population.max_tokens)


class PopulationSource:
    """Sessions of one population: when the next starts, and what each sends."""

    def __init__(
        self, population: Population, audience: Audience, workload: Workload, seed: int, key: str
    ) -> None:
        self.population = population
        self.audience = audience
        self.rng = random.Random(f"{seed}:workload:{key}")
        self.curve = DayCurve(workload.diurnal)
        self.rate = population.users * population.sessions_per_user_day / 86400.0
        weights = [
            self.rng.lognormvariate(0.0, population.usage_sigma) for _ in range(population.users)
        ]
        self.cumulative = list(itertools.accumulate(weights))
        self.kinds = list(population.sessions)
        self.kind_weights = list(itertools.accumulate(population.sessions.values()))
        self.models = list(workload.model_mix)
        self.model_weights = list(itertools.accumulate(workload.model_mix.values()))
        self.user_prefix = f"{audience.label}#"
        self._ids = itertools.count()
        self.chat = _ChatDraws(workload)
        self.agentic = _AgenticDraws(workload)
        self.single = (
            Sampler(workload.single.prompt_tokens),
            Sampler(workload.single.output_tokens),
        )

    def next_start(self, now: float) -> float:
        """When the next session starts (inf: this population sends nothing)."""
        if not self.cumulative:
            return math.inf
        return self.curve.next_arrival(now, self.rate, self.rng)

    def _pick(self, cumulative: list[float]) -> int:
        point = self.rng.random() * cumulative[-1]
        return min(bisect.bisect_right(cumulative, point), len(cumulative) - 1)

    def new_session(self) -> Session:
        """A session of a weighted-random user, model and kind."""
        rng = self.rng
        user = f"{self.user_prefix}{self._pick(self.cumulative)}"
        model_id = self.models[self._pick(self.model_weights)]
        kind = self.kinds[self._pick(self.kind_weights)]
        sid = next(self._ids)
        if kind == "chat":
            calls, context = self.chat.turns.count(rng), self.chat.system
        elif kind == "agentic":
            calls, context = self.agentic.calls.count(rng), self.agentic.initial.count(rng)
        else:
            calls, context = 1, 0
        return Session(sid, kind, user, model_id, calls, context)

    def next_call(self, session: Session) -> RequestSpec | None:
        """The session's next request (None: the session is over)."""
        if session.calls_left <= 0:
            return None
        session.calls_left -= 1
        rng = self.rng
        if session.kind == "chat":
            output = self.chat.output.count(rng)
            prompt = session.context + self.chat.message.count(rng)
            session.context = prompt + output
        elif session.kind == "agentic":
            if session.context > self.agentic.max_context:
                return None
            output = self.agentic.output.count(rng)
            prompt = session.context
            session.context = prompt + output + self.agentic.growth.count(rng)
        else:
            prompt, output = self.single[0].count(rng), self.single[1].count(rng)
        output = min(output, self.audience.max_tokens)
        cached = min(session.prefix, prompt)
        session.prefix = prompt + output
        return RequestSpec(
            self.audience, session.user, session.model_id, prompt, cached, output, session
        )

    def think_time(self, session: Session) -> float:
        """Pause between the end of one call and the next one of `session`."""
        sampler = self.chat.think if session.kind == "chat" else self.agentic.think
        return sampler.value(self.rng)

    def samplers(self) -> list[Sampler]:
        """Every sampler, for the capped-draws count."""
        return [*self.chat.all(), *self.agentic.all(), *self.single]


class _ChatDraws:
    def __init__(self, workload: Workload) -> None:
        chat = workload.chat
        self.turns = Sampler(chat.turns)
        self.think = Sampler(chat.think_time_s)
        self.message = Sampler(chat.message_tokens)
        self.output = Sampler(chat.output_tokens)
        self.system = chat.system_tokens

    def all(self) -> list[Sampler]:
        return [self.turns, self.think, self.message, self.output]


class _AgenticDraws:
    def __init__(self, workload: Workload) -> None:
        agentic = workload.agentic
        self.calls = Sampler(agentic.calls)
        self.think = Sampler(agentic.think_time_s)
        self.initial = Sampler(agentic.initial_context_tokens)
        self.growth = Sampler(agentic.growth_tokens)
        self.output = Sampler(agentic.output_tokens)
        self.max_context = agentic.max_context_tokens

    def all(self) -> list[Sampler]:
        return [self.calls, self.think, self.initial, self.growth, self.output]
