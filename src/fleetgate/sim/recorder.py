"""Recording a run: outcomes per plan or tier, per site and overall, a time series, faults.

Owns what each request's end adds to the counters and histograms (client-side latencies:
network both ways included), the periodic samples of the time series, and the final result
mapping that the report writes as JSON and CSV. Requests that arrive during the warm-up are
served but not measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetgate.sim.fault_schedule import FaultChange
from fleetgate.sim.loop import PRIORITY_SCRAPE, EventLoop
from fleetgate.sim.metrics import Outcomes
from fleetgate.sim.requests import ClientRequest, SimulatedAttempt
from fleetgate.sim.scenario import Scenario

if TYPE_CHECKING:
    from fleetgate.sim.simulation import Simulation

MAX_FAULT_LOG = 10_000


class Recorder:
    """Every measurement of one run."""

    def __init__(self, scenario: Scenario, start: float) -> None:
        self.scenario = scenario
        self.start = start
        self.measure_from = start + scenario.warmup
        self.ttft_slo = scenario.slo.ttft_s
        self.tpot_slo = scenario.slo.tpot_s
        self.total = Outcomes()
        self.by_audience: dict[str, Outcomes] = {}
        self.by_site: dict[str, Outcomes] = {}
        self._cells: dict[tuple[str, str], Outcomes] = {}
        """Completions per (plan or tier, site), merged into both and the total at the end: each
        is counted once, and each latency binned into one histogram."""
        self.issued = 0
        self.series: list[dict[str, Any]] = []
        self.fault_log: list[dict[str, Any]] = []
        self.faults_seen = 0
        self._last: dict[str, float] = {}
        self.result: dict[str, Any] = {}

    def _groups(self, request: ClientRequest) -> tuple[Outcomes, ...] | None:
        if request.arrival < self.measure_from:
            return None
        label = request.call.audience.label
        group = self.by_audience.get(label)
        if group is None:
            group = self.by_audience[label] = Outcomes()
        return self.total, group

    def _site(self, site: str) -> Outcomes:
        group = self.by_site.get(site)
        if group is None:
            group = self.by_site[site] = Outcomes()
        return group

    # ------------------------------------------------------------------ outcomes

    def completed(
        self, request: ClientRequest, attempt: SimulatedAttempt, at: float, tpot: float | None
    ) -> None:
        """A request was answered in full."""
        first_token_at = attempt.first_token_at
        if request.arrival < self.measure_from or first_token_at is None:
            return
        call = request.call
        key = (call.audience.label, attempt.group.backend.site_id)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = Outcomes()
        ttft = first_token_at + attempt.one_way - request.arrival
        output = call.output_tokens
        cell.requests += 1
        cell.completed += 1
        cell.input_tokens += call.prompt_tokens
        cell.output_tokens += output
        if ttft <= self.ttft_slo and (tpot is None or tpot <= self.tpot_slo):
            cell.within_slo += 1
            cell.slo_output_tokens += output
        cell.ttft.add(ttft)
        cell.e2e.add(at + attempt.one_way - request.arrival)
        if tpot is not None:
            cell.tpot.add(tpot)

    def refused(self, request: ClientRequest, limit: str) -> None:
        """A 429 the client gave up on."""
        for group in self._groups(request) or ():
            group.requests += 1
            group.refuse(limit)

    def overloaded(self, request: ClientRequest) -> None:
        """A 529 (or 503: no healthy pool) the client gave up on."""
        for group in self._groups(request) or ():
            group.requests += 1
            group.overloaded += 1

    def unplaceable(self, request: ClientRequest) -> None:
        """A 503: the tenant's placement policy allows no pool at all serving the model."""
        for group in self._groups(request) or ():
            group.requests += 1
            group.unplaceable += 1

    def invalid(self, request: ClientRequest) -> None:
        """A 400/404: the request cannot be served (too long for any engine, unknown model)."""
        for group in self._groups(request) or ():
            group.requests += 1
            group.invalid += 1

    def failed(self, request: ClientRequest, site: str | None) -> None:
        """An error answer after failover (or a stream cut after its first byte)."""
        groups = self._groups(request)
        if groups is None:
            return
        extra = (self._site(site),) if site is not None else ()
        for group in (*groups, *extra):
            group.requests += 1
            group.failed += 1

    def retried(self, request: ClientRequest) -> None:
        """A failover attempt (before the first byte) on another backend."""
        for group in self._groups(request) or ():
            group.retried += 1

    def fault(self, change: FaultChange) -> None:
        """A fault began or ended."""
        self.faults_seen += 1
        if len(self.fault_log) < MAX_FAULT_LOG:
            self.fault_log.append(
                {
                    "t_s": round(change.at, 3),
                    "site": change.site,
                    "kind": change.kind,
                    "on": change.on,
                    "fault": change.key,
                }
            )

    # ------------------------------------------------------------------ time series

    def start_series(self, loop: EventLoop, sim: Simulation) -> None:
        """Sample the counters every `sample_interval_s`."""
        interval = self.scenario.sample_interval_s
        self._last = {"t": self.start}

        def sample(_: object) -> None:
            self._sample(sim)
            if loop.now + interval <= sim.end + 1e-9:
                loop.after(interval, PRIORITY_SCRAPE, sample)

        loop.schedule(self.start + interval, PRIORITY_SCRAPE, sample)

    def _sample(self, sim: Simulation) -> None:
        now = sim.loop.now
        total = self.total
        cells = self._cells.values()
        row: dict[str, Any] = {
            "t_s": round(now - self.start, 3),
            "issued": self.issued,
            "completed": total.completed + sum(cell.completed for cell in cells),
            "refused": total.refused,
            "overloaded": total.overloaded,
            "failed": total.failed,
            "output_tokens": total.output_tokens + sum(cell.output_tokens for cell in cells),
            "within_slo": total.within_slo + sum(cell.within_slo for cell in cells),
        }
        for site_id, site in sim.engines.sites.items():
            engines = sum(len(g.replicas) for g in site.groups)
            busy = sum(g.busy_seconds(now) for g in site.groups)
            previous = self._last.get(f"busy:{site_id}", 0.0)
            span = now - self._last["t"]
            self._last[f"busy:{site_id}"] = busy
            share = (busy - previous) / (engines * span) if engines and span > 0 else 0.0
            row[f"util:{site_id}"] = round(share, 6)
            row[f"down:{site_id}"] = int(site.condition.down)
        self._last["t"] = now
        self.series.append(row)

    # ------------------------------------------------------------------ result

    def finish(self, sim: Simulation) -> None:
        """Build the result mapping of the run."""
        seconds = sim.measured_seconds
        now = sim.loop.now
        for (label, site_id), cell in self._cells.items():
            audience = self.by_audience.get(label)
            if audience is None:
                audience = self.by_audience[label] = Outcomes()
            audience.merge(cell)
            self._site(site_id).merge(cell)
            self.total.merge(cell, histograms=False)  # its histograms: the plans', below
        self._cells.clear()
        for group in self.by_audience.values():
            self.total.ttft.merge(group.ttft)
            self.total.tpot.merge(group.tpot)
            self.total.e2e.merge(group.e2e)
        elapsed = now - self.start
        self.result = {
            "scenario": {
                "seed": self.scenario.seed,
                "start": self.start,
                "duration_s": self.scenario.duration,
                "warmup_s": self.scenario.warmup,
                "slo": {"ttft_ms": self.scenario.slo.ttft_ms, "tpot_ms": self.scenario.slo.tpot_ms},
            },
            "run": {
                "events": sim.loop.events,
                "requests_issued": self.issued,
                "limit_decisions": sim.limit_store.decisions,
                "limit_settlements": sim.limit_store.settlements,
                "capped_draws": sim.sources.capped_draws(),
                "faults": self.faults_seen,
            },
            "total": self.total.as_dict(seconds),
            "by_plan": {k: v.as_dict(seconds) for k, v in sorted(self.by_audience.items())},
            "by_site": {k: v.as_dict(seconds) for k, v in sorted(self.by_site.items())},
            "sites": {
                site_id: sim.engines.site_report(site_id, now, elapsed)
                for site_id in sim.engines.sites
            },
            "availability": sim.fleet.health.availability.snapshot(now),
            "fault_log": self.fault_log,
            "series": self.series,
        }
