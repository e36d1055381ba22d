"""Prometheus metrics of one gateway process, in a registry of its own (no global state)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleetgate.limits.stores.guard import GuardedLimiter

LabelledMetric = Counter | Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class GatewayMetrics:
    """Counters, gauges and histograms the gateway updates on every request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.requests = Counter(
            "fleetgate_requests",
            "Client requests by endpoint, model and HTTP status.",
            ["endpoint", "model", "status"],
            registry=r,
        )
        self.latency = self._latency_histogram(
            "fleetgate_request_seconds", "Time from request to the last byte of the answer."
        )
        self.ttft = self._latency_histogram(
            "fleetgate_time_to_first_token_seconds",
            "Time from request to the first content byte sent to the client (streams).",
        )
        self.tokens = Counter(
            "fleetgate_tokens",
            "Tokens by direction (input, output).",
            ["model", "direction"],
            registry=r,
        )
        self.in_flight = Gauge(
            "fleetgate_in_flight_requests", "Client requests being served now.", registry=r
        )
        self.backend_requests = Counter(
            "fleetgate_backend_requests",
            "Requests sent to each backend, by outcome (ok, error, timeout, unavailable).",
            ["backend", "site", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "fleetgate_retries",
            "Requests retried on another backend before the first byte.",
            registry=r,
        )
        self.settle_failures = Counter(
            "fleetgate_settle_failures",
            "Settlements that raised outside the limit store's own failure handling.",
            registry=r,
        )

    def _latency_histogram(self, name: str, documentation: str) -> Histogram:
        """A histogram of seconds by endpoint and model, on the shared latency buckets."""
        return Histogram(
            name,
            documentation,
            ["endpoint", "model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def labelled(self, metric: LabelledMetric, *values: str) -> Any:
        """`metric.labels(*values)`, remembered: children live as long as their metric, and the
        lookup is on every request's path."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def watch_limiter(self, limiter: GuardedLimiter) -> None:
        """Export the limiter's store health (errors, outage, queued settlements)."""
        self.registry.register(LimiterCollector(limiter))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


class LimiterCollector(Collector):
    """The limits store's health, read from the limiter at scrape time."""

    def __init__(self, limiter: GuardedLimiter) -> None:
        self._limiter = limiter

    def collect(self) -> Iterator[Metric]:
        limiter = self._limiter
        mode = limiter.config.on_store_error
        errors = CounterMetricFamily(
            "fleetgate_limit_store_errors",
            "Limit store calls that failed; requests were admitted (open) or refused (closed).",
            labels=["on_store_error"],
        )
        errors.add_metric([mode], float(limiter.store_errors))
        yield errors
        yield GaugeMetricFamily(
            "fleetgate_limit_store_down",
            "1 while the limit store is unreachable.",
            value=1.0 if limiter.store_down else 0.0,
        )
        yield GaugeMetricFamily(
            "fleetgate_limit_pending_settlements",
            "Settlements kept in memory until the store is reachable again.",
            value=float(limiter.pending_settlements),
        )
