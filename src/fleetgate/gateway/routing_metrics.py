"""The gateway's Prometheus view of the fleet: per-backend load and health, and availability as
ratio, nines and error-budget burn per scope and window. A custom collector reads the `Fleet` at
scrape time, so nothing is updated on the request path; register it in the app's own registry:

    registry.register(FleetCollector(fleet, clock))
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client.core import GaugeMetricFamily, Metric

from fleetgate.routing.availability import Scope
from fleetgate.routing.fleet import Fleet
from fleetgate.seams import Clock

BREAKER_CODES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
DEFAULT_SCOPES: tuple[Scope, ...] = ("pool", "site", "end_to_end")


class FleetCollector:
    """Collects fleet gauges on each scrape; `scopes` limits availability series (backend-level
    availability for 1,000 backends is many series: it is in the admin snapshot instead)."""

    def __init__(
        self, fleet: Fleet, clock: Clock, scopes: Sequence[Scope] = DEFAULT_SCOPES
    ) -> None:
        self.fleet = fleet
        self.clock = clock
        self.scopes = tuple(scopes)

    def describe(self) -> list[Metric]:
        """Nothing up front: the series depend on the fleet (avoids a collect at register)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every gauge, computed now."""
        now = self.clock.now()
        yield from self._backend_gauges(now)
        yield from self._availability_gauges(now)

    def _backend_gauges(self, now: float) -> Iterator[Metric]:
        fleet = self.fleet
        fleet.refresh(now)
        labels = ["backend", "pool", "site"]
        gauges = {
            "in_flight": GaugeMetricFamily(
                "fleetgate_backend_in_flight", "Requests in flight per backend.", labels=labels
            ),
            "breaker": GaugeMetricFamily(
                "fleetgate_backend_circuit_state",
                "Circuit breaker: 0 closed, 1 half-open, 2 open.",
                labels=labels,
            ),
            "routable": GaugeMetricFamily(
                "fleetgate_backend_routable",
                "1 when new requests may go to the backend (healthy, not drained).",
                labels=labels,
            ),
            "drained": GaugeMetricFamily(
                "fleetgate_backend_drained", "1 when the backend is drained.", labels=labels
            ),
            "kv": GaugeMetricFamily(
                "fleetgate_backend_kv_cache_usage",
                "Scraped KV-cache usage (0..1); absent while unknown or stale.",
                labels=labels,
            ),
        }
        load, health = fleet.load, fleet.health
        fresh = load.metrics_fresh(np.arange(len(fleet.index), dtype=np.int64), now)
        for i, backend in enumerate(fleet.index.backends):
            values = [backend.id, backend.pool_id, backend.site_id]
            gauges["in_flight"].add_metric(values, float(load.in_flight[i]))
            gauges["breaker"].add_metric(values, BREAKER_CODES[health.breakers[i].state])
            gauges["routable"].add_metric(values, float(health.routable[i]))
            gauges["drained"].add_metric(values, float(health.drained[i]))
            if fresh[i]:
                gauges["kv"].add_metric(values, float(load.kv_usage[i]))
        yield from gauges.values()

    def _availability_gauges(self, now: float) -> Iterator[Metric]:
        labels = ["scope", "id", "window_s"]
        ratio = GaugeMetricFamily(
            "fleetgate_availability_ratio", "Rolling success ratio.", labels=labels
        )
        nines = GaugeMetricFamily(
            "fleetgate_availability_nines",
            "-log10(1 - ratio); absent for a perfect window.",
            labels=labels,
        )
        burn = GaugeMetricFamily(
            "fleetgate_error_budget_burn_rate",
            "Failure share over the SLO's allowed failure share (1 = on budget).",
            labels=labels,
        )
        for scope in self.scopes:
            for report in self.fleet.health.availability.report(now, scope):
                if report.ratio is None:
                    continue
                values = [report.scope, report.id, f"{report.window_s:g}"]
                ratio.add_metric(values, report.ratio)
                if report.nines is not None and math.isfinite(report.nines):
                    nines.add_metric(values, report.nines)
                if report.burn_rate is not None:
                    burn.add_metric(values, report.burn_rate)
        yield from (ratio, nines, burn)
