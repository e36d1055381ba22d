"""One simulation run: workload in, the real limiter and router in the middle, engines out.

Owns the walk of each simulated request, mirroring the gateway's (docs/architecture.md, "A
streamed Anthropic request, in reading order"): admit (the gateway's `Limiter`, on its in-memory
store at virtual time) -> route (`Router.choose` over the real `Fleet`, placement, breakers,
saturation and policies included) -> network -> engine (`ReplicaGroup`) -> first token -> end ->
settle (the same `Limiter`). Failures before the first token fail over within the router's retry
budget; 429s and 529s that say so are retried by the client after `retry-after`, like the SDKs.
Engine metrics are scraped and probes answered every scrape interval, as the gateway's health
checker does. Everything runs on `EventLoop` time.
"""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Callable

from fleetgate.errors import ConfigurationError, InvalidRequest, NoAllowedPool, NotFound, Overloaded
from fleetgate.limits.limiter import Limiter, Refusal
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.limits.stores.memory import MemoryStore
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.placement import place
from fleetgate.routing.router import Router
from fleetgate.seams import Usage
from fleetgate.sim.batch_replica import Job
from fleetgate.sim.fault_schedule import FaultChange, build_schedule
from fleetgate.sim.fleet_model import SimFleet, with_sim_backends
from fleetgate.sim.group import ReplicaGroup
from fleetgate.sim.loop import PRIORITY_ARRIVAL, PRIORITY_FAULT, PRIORITY_SCRAPE, EventLoop
from fleetgate.sim.recorder import Recorder
from fleetgate.sim.requests import ClientRequest, SimulatedAttempt
from fleetgate.sim.scenario import LoadedScenario
from fleetgate.sim.sources import Sources

Progress = Callable[[float, float, int, int], None]
"""Called as (share done, simulated seconds done, events so far, requests so far)."""

NOTHING_EXCLUDED: frozenset[str] = frozenset()
OUTLIER_EVERY_SCRAPES = 10
MAX_CLIENT_WAIT_S = 600.0
GC_YOUNG_THRESHOLD = 50_000
"""Allocations between young-generation collections while a run goes (CPython's default: 700)."""


class Simulation:
    """A scenario wired to the real limits and routing code on a virtual clock."""

    def __init__(self, loaded: LoadedScenario) -> None:
        scenario = loaded.scenario
        self.scenario = scenario
        self.settings = with_sim_backends(loaded.settings)
        self.start = scenario.start
        self.loop = EventLoop(self.start)
        self.rng = random.Random(f"{scenario.seed}:routing")
        self.breaker_rng = random.Random(f"{scenario.seed}:fleet")
        """Jitters the breakers that verdicts and outlier ejection open."""
        self.fleet = Fleet.from_settings(self.settings)
        self.router = Router(self.fleet)
        self.limiter = Limiter(self.settings.limits, self.settings.tenants)
        self.limit_store = MemoryStore()
        for name, factor in scenario.multipliers.items():
            plan, _, window = name.partition(":")
            try:
                self.limit_store.set_multiplier(
                    self.limiter.multiplier_name(plan, window, factor), factor
                )
            except InvalidRequest as exc:
                raise ConfigurationError(f"multipliers.{name}: {exc}") from exc
        self.engines = SimFleet(self.settings, self.fleet.index.backends, scenario, self.loop, self)
        self.recorder = Recorder(scenario, self.start)
        self.sources = Sources(loaded, self.settings, self.limiter)
        self.faults_rng = random.Random(f"{scenario.seed}:faults:errors")
        self._scrapes = 0
        self.scrape_s = scenario.scrape_interval_s or self.settings.routing.probes.interval_s
        self.end = self.start + scenario.duration
        self._families = {m.id: m.family for m in self.settings.models}
        self._placement: dict[tuple[str, str], bool] = {}
        self._prefix_caching = scenario.replica.prefix_caching

    # ------------------------------------------------------------------ running

    def run(self, progress: Progress | None = None, chunks: int = 100) -> Recorder:
        """Run the whole scenario; `progress` is called after each of `chunks` slices."""
        loop = self.loop
        self.sources.schedule_all(loop, self.issue, self.router)
        site_gpus = {site_id: state.gpus for site_id, state in self.engines.sites.items()}
        schedule = build_schedule(
            self.scenario.faults, self.scenario.seed, self.scenario.duration, site_gpus
        )
        for change in schedule:
            loop.schedule(self.start + change.at, PRIORITY_FAULT, self._fault, change)
        loop.schedule(self.start, PRIORITY_SCRAPE, self._scrape)
        self.recorder.start_series(loop, self)
        step = self.scenario.duration / chunks
        thresholds = gc.get_threshold()
        # requests are short-lived and acyclic: collect young objects far less often
        gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
        try:
            for index in range(1, chunks + 1):
                loop.run(self.start + step * index)
                if progress is not None:
                    progress(index / chunks, step * index, loop.events, self.recorder.issued)
        finally:
            gc.set_threshold(*thresholds)
        self.recorder.finish(self)
        return self.recorder

    # ------------------------------------------------------------------ request walk

    def issue(self, request: ClientRequest) -> None:
        """A client sends a request (first try, or a retry after a 429/529)."""
        now = self.loop.now
        if now >= self.end:
            return
        call = request.call
        demand = request.demand
        if demand is None:  # the first try (a client retry asks for the same)
            self.recorder.issued += 1
            cached = call.cached_tokens
            demand = request.demand = AdmissionRequest(
                "messages",
                self._families[call.model_id],
                call.prompt_tokens - cached,
                0,
                cached,
                call.max_tokens,
                call.model_id,
            )
        outcome = self.limiter.admit(request.who, demand, now, self.limit_store)
        if isinstance(outcome, Refusal):
            self._refused(request, outcome)
            return
        request.admission = outcome
        request.excluded = NOTHING_EXCLUDED
        self._route(request)

    def _refused(self, request: ClientRequest, refusal: Refusal) -> None:
        call = request.call
        retry = call.audience.kind == "tier" and refusal.retry_after <= MAX_CLIENT_WAIT_S
        if retry and request.client_tries < call.audience.retries:
            request.client_tries += 1
            self.loop.after(max(refusal.retry_after, 0.001), PRIORITY_ARRIVAL, self.issue, request)
            return
        self.recorder.refused(request, refusal.rule.name)
        if call.audience.kind != "plan":
            self.sources.call_done(request, self.loop.now)

    def _route(self, request: ClientRequest) -> None:
        now = self.loop.now
        call = request.call
        route = request.route
        try:
            backend = self.router.choose(
                route, call.audience.tenant, now, self.rng, request.excluded
            )
        except (Overloaded, NoAllowedPool) as exc:
            self._unroutable(request, exc)
            return
        except NotFound:
            self._invalid(request)
            return
        backend_id = backend.id
        self.fleet.begin(backend_id, request.tokens, now)
        engines = self.engines
        one_way = engines.one_way_s(backend.site_id)
        attempt = SimulatedAttempt(request, backend_id, engines.groups[backend_id], now, one_way)
        self.loop.schedule(now + one_way, PRIORITY_ARRIVAL, self._reach_backend, attempt)

    def _unroutable(self, request: ClientRequest, exc: Overloaded | NoAllowedPool) -> None:
        now = self.loop.now
        self._settle(request, 0, 0, 0, now)
        if request.attempts > 0:
            self._failed(request, now)
            return
        tries = request.call.audience.retries
        if isinstance(exc, Overloaded) and request.client_tries < tries:
            request.client_tries += 1
            wait = float(exc.headers.get("retry-after", "1"))
            self.loop.after(wait, PRIORITY_ARRIVAL, self.issue, request)
            return
        if isinstance(exc, NoAllowedPool) and not self._placeable(request):
            self.recorder.unplaceable(request)
        else:
            self.fleet.health.record_request(ok=False, now=now)
            self.recorder.overloaded(request)
        self.sources.call_done(request, now)

    def _placeable(self, request: ClientRequest) -> bool:
        """Whether the tenant's placement allows any backend of the model at all (healthy or
        not): a request it allows none is a placement refusal, not an availability loss."""
        tenant = request.call.audience.tenant
        key = (tenant.id, request.call.model_id)
        known = self._placement.get(key)
        if known is None:
            serving = self.fleet.index.backends_for_model(request.call.model_id)
            known = self._placement[key] = len(place(tenant.placement, serving, tenant.id)) > 0
        return known

    def _invalid(self, request: ClientRequest) -> None:
        self._settle(request, 0, 0, 0, self.loop.now)
        self.recorder.invalid(request)
        self.sources.call_done(request, self.loop.now)

    def _reach_backend(self, attempt: SimulatedAttempt) -> None:
        now = self.loop.now
        group = attempt.group
        errors = group.error_rate
        failing = group.site_down or (errors > 0 and self.faults_rng.random() < errors)
        call = attempt.request.call
        session = call.session
        hit = 0
        if session is not None and self._prefix_caching:
            hit = call.cached_tokens if session.last_backend == attempt.backend_id else 0
        attempt.cache_hit = hit
        prompt = call.prompt_tokens
        job = Job(max(prompt - hit, 1), prompt, call.output_tokens, attempt)
        if not failing and job.kv_need > group.timing.kv_capacity:
            self.fleet.finish(
                group.backend.id,
                ok=True,
                tokens=attempt.request.tokens,
                now=now,
                rng=self.breaker_rng,
                record_outcome=False,
            )
            self._invalid(attempt.request)
            return
        index = -1 if failing else group.dispatch(job, now)
        if index < 0:
            self.loop.after(attempt.one_way, PRIORITY_ARRIVAL, self._attempt_failed, (attempt, 0))
            return
        attempt.replica = index

    # ------------------------------------------------------------------ engine callbacks

    def on_first_token(self, job: Job, at: float) -> None:
        """An engine produced a request's first token."""
        attempt: SimulatedAttempt = job.owner
        attempt.first_token_at = at
        self.fleet.first_token(attempt.backend_id, at + attempt.one_way - attempt.sent_at, at)

    def on_finish(self, job: Job, at: float) -> None:
        """An engine finished a request."""
        attempt: SimulatedAttempt = job.owner
        attempt.group.touched(attempt.replica)
        request = attempt.request
        call = request.call
        output = job.output_tokens
        first = attempt.first_token_at
        itl = (at - (at if first is None else first)) / (output - 1) if output > 1 else None
        fleet = self.fleet
        backend_id = attempt.backend_id
        fleet.finish(
            backend_id, ok=True, tokens=request.tokens, now=at, rng=self.breaker_rng, itl_s=itl
        )
        fleet.health.record_request(ok=True, now=at)
        hit = attempt.cache_hit
        self._settle(request, call.prompt_tokens - hit, output, hit, at)
        self.recorder.completed(request, attempt, at, itl)
        session = call.session
        if session is not None:
            session.last_backend = backend_id
        self.sources.call_done(request, at + attempt.one_way)

    def on_fail(self, job: Job, at: float, produced: int) -> None:
        """An engine crashed (or its site went down) with this request on it."""
        attempt: SimulatedAttempt = job.owner
        attempt.group.touched(attempt.replica)
        self._attempt_failed((attempt, produced))

    def _attempt_failed(self, failure: tuple[SimulatedAttempt, int]) -> None:
        attempt, produced = failure
        now = self.loop.now
        request = attempt.request
        self.fleet.finish(
            attempt.backend_id, ok=False, tokens=request.tokens, now=now, rng=self.breaker_rng
        )
        request.attempts += 1
        before_first_byte = attempt.first_token_at is None
        router = self.router
        if before_first_byte and request.attempts < router.max_attempts and router.may_retry(now):
            request.excluded = request.excluded | {attempt.backend_id}
            self.recorder.retried(request)
            wait = router.retry_backoff_s(request.attempts, self.rng)
            self.loop.after(wait, PRIORITY_ARRIVAL, self._route_again, request)
            return
        call = request.call
        cached = call.cached_tokens
        self._settle(request, call.prompt_tokens - cached, produced, cached, now)
        self._failed(request, now, attempt.group.backend.site_id)

    def _settle(
        self, request: ClientRequest, fresh: int, output: int, cached: int, now: float
    ) -> None:
        """Settle the request's admission with what it used: `fresh` (uncached) input,
        `output` and `cached` (cache read) tokens."""
        admission = request.admission
        if admission is not None:
            usage = Usage(fresh, output, 0, cached)
            self.limiter.settle(admission, usage, now, self.limit_store)

    def _route_again(self, request: ClientRequest) -> None:
        self._route(request)

    def _failed(self, request: ClientRequest, now: float, site: str | None = None) -> None:
        self.fleet.health.record_request(ok=False, now=now)
        self.recorder.failed(request, site)
        self.sources.call_done(request, now)

    # ------------------------------------------------------------------ periodic work

    def _scrape(self, _: object) -> None:
        now = self.loop.now
        fleet = self.fleet
        for backend_id, group in self.engines.groups.items():
            waiting, running, kv = group.metrics()
            fleet.load.record_metrics(backend_id, waiting, running, kv, now)
            fleet.health.probe_result(backend_id, not group.site_down, now)
        self._scrapes += 1
        if self._scrapes % OUTLIER_EVERY_SCRAPES == 0:
            fleet.health.detect_outliers(now, self.breaker_rng)
        if now + self.scrape_s < self.end:
            self.loop.after(self.scrape_s, PRIORITY_SCRAPE, self._scrape)

    def _fault(self, change: FaultChange) -> None:
        now = self.loop.now
        self.recorder.fault(change)
        for group, index in self.engines.apply(change, now):
            self.loop.after(change.restart_s, PRIORITY_FAULT, self._restart, (group, index))

    def _restart(self, target: tuple[ReplicaGroup, int]) -> None:
        group, index = target
        group.restart(index)

    @property
    def measured_seconds(self) -> float:
        """Simulated seconds after the warm-up."""
        return max(self.scenario.duration - self.scenario.warmup, 0.0)

    def horizon(self) -> float:
        """Virtual time now, in seconds from the start."""
        return self.loop.now - self.start if math.isfinite(self.loop.now) else 0.0
