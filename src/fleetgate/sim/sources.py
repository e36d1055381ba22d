"""Feeding the event loop: session starts of every population, trace lines, next calls.

Owns when each request is issued: one pending session-start event per population (the next is
drawn when one fires, so the heap stays small), one pending event for the trace, and a
session's next call `think time` after its previous one ended. Turns each `RequestSpec` into a
`ClientRequest` with its limits identity and routing request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fleetgate.limits.limiter import Limiter
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import Router
from fleetgate.settings import Settings, TenantSettings
from fleetgate.sim.loop import PRIORITY_ARRIVAL, EventLoop
from fleetgate.sim.requests import ClientRequest
from fleetgate.sim.scenario import LoadedScenario
from fleetgate.sim.trace import TraceLine, read_trace
from fleetgate.sim.workload import Audience, PopulationSource, RequestSpec, Session, audience_for

Issue = Callable[[ClientRequest], None]


class Sources:
    """Every workload generator of a scenario."""

    def __init__(self, loaded: LoadedScenario, settings: Settings, limiter: Limiter) -> None:
        scenario = loaded.scenario
        self.limiter = limiter
        self.start = scenario.start
        self.end = scenario.start + scenario.duration
        self.populations: list[PopulationSource] = []
        self.by_label: dict[str, PopulationSource] = {}
        audiences: dict[str, Audience] = {}
        for index, population in enumerate(scenario.workload.populations):
            where = f"workload.populations[{index}]"
            audience = audience_for(population, settings, where)
            if audience.label in self.by_label:
                raise_duplicate(where, audience.label)
            limiter.limits_of(f"{audience.label}#0", audience.plan, audience.tier, where)
            source = PopulationSource(population, audience, scenario.workload, scenario.seed, where)
            self.populations.append(source)
            self.by_label[audience.label] = source
            audiences[audience.label] = audience
        for tenant in settings.tenants:
            audiences.setdefault(tenant.id, _tenant_audience(tenant))
        self.trace: list[TraceLine] = []
        trace = scenario.workload.trace
        if trace is not None:
            path = loaded.resolve(trace.path)
            self.trace = read_trace(
                path, settings, audiences, trace.time_scale, text=loaded.trace_text
            )
            for line in self.trace[:1]:
                a = line.call.audience
                limiter.limits_of(line.call.user, a.plan, a.tier, "workload.trace")
        self._loop: EventLoop | None = None
        self._issue: Issue | None = None
        self._router: Router | None = None
        self._priority: dict[str, int] = {}

    def schedule_all(self, loop: EventLoop, issue: Issue, router: Router) -> None:
        """Put the first session start of every population and the first trace line on `loop`."""
        self._loop, self._issue, self._router = loop, issue, router
        for source in self.populations:
            first = source.next_start(self.start)
            if first < self.end:
                loop.schedule(first, PRIORITY_ARRIVAL, self._session_start, source)
        if self.trace:
            lines = iter(self.trace)
            first_line = next(lines)
            loop.schedule(
                self.start + first_line.offset,
                PRIORITY_ARRIVAL,
                self._trace_line,
                (first_line, lines),
            )

    def request_for(self, call: RequestSpec, now: float) -> ClientRequest:
        """A client request for `call`, issued at `now`."""
        audience = call.audience
        session = call.session
        who = session.limits if session is not None else None
        if who is None:
            who = self.limiter.limits_of(call.user, audience.plan, audience.tier, "workload")
            if session is not None:
                session.limits = who
        priority = self._priority.get(audience.label)
        if priority is None:
            assert self._router is not None
            priority = self._priority[audience.label] = self._router.priority_for(audience.tenant)
        # tenant, model, input and output tokens, affinity key, priority, streaming
        route = RouteRequest(
            audience.tenant.id,
            call.model_id,
            call.prompt_tokens,
            call.max_tokens,
            session.affinity_key if session is not None else None,
            priority,
            True,
        )
        return ClientRequest(call, who, route, now)

    def _session_start(self, source: PopulationSource) -> None:
        assert self._loop is not None and self._issue is not None
        now = self._loop.now
        call = source.next_call(source.new_session())
        if call is not None:
            self._issue(self.request_for(call, now))
        upcoming = source.next_start(now)
        if upcoming < self.end:
            self._loop.schedule(upcoming, PRIORITY_ARRIVAL, self._session_start, source)

    def _trace_line(self, item: tuple[TraceLine, Iterator[TraceLine]]) -> None:
        assert self._loop is not None and self._issue is not None
        line, rest = item
        self._issue(self.request_for(line.call, self._loop.now))
        upcoming = next(rest, None)
        if upcoming is not None and self.start + upcoming.offset < self.end:
            self._loop.schedule(
                self.start + upcoming.offset, PRIORITY_ARRIVAL, self._trace_line, (upcoming, rest)
            )

    def call_done(self, request: ClientRequest, at: float) -> None:
        """The client got its answer at `at`; a session sends its next call after thinking."""
        session = request.call.session
        if session is None or self._loop is None:
            return
        source = self.by_label[request.call.audience.label]
        when = at + source.think_time(session)
        if when < self.end and session.calls_left > 0:
            self._loop.schedule(when, PRIORITY_ARRIVAL, self._next_call, (source, session))

    def _next_call(self, item: tuple[PopulationSource, Session]) -> None:
        assert self._loop is not None and self._issue is not None
        source, session = item
        call = source.next_call(session)
        if call is not None:
            self._issue(self.request_for(call, self._loop.now))

    def capped_draws(self) -> int:
        """Draws cut to a configured `max`, over every generator."""
        return sum(s.capped for source in self.populations for s in source.samplers())


def _tenant_audience(tenant: TenantSettings) -> Audience:
    return Audience(tenant.id, tenant, tenant.plan, tenant.tier, 2, 8_192)


def raise_duplicate(where: str, label: str) -> None:
    """Two populations with one name would merge in every report."""
    from fleetgate.errors import ConfigurationError

    raise ConfigurationError(f"{where}.name: duplicate population name {label!r}")
