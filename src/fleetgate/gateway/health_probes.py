"""The gateway's health-checking shell: active probes of each backend's health endpoint and
scrapes of its engine metrics (vLLM names), fed into a `Fleet` (probe verdicts and outlier
ejection into its health, engine metrics into its load). This module does the I/O that the pure
routing core (`fleetgate.routing`) does not.

A probe succeeds when the backend answers below 500 (a 404 or 401 still proves the server is
up; hosted APIs have no health endpoint); connection errors, timeouts and 5xx fail it. Metrics
are read from the Prometheus text format: waiting and running are summed over label sets (data-
parallel engines), KV-cache usage takes the fullest engine. A backend without metrics is simply
never scraped: it is judged on the gateway's own in-flight counts.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from fleetgate.routing.config import ProbeSettings
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.index import Backend
from fleetgate.seams import Clock

LOG = logging.getLogger(__name__)

WAITING_NAMES = frozenset({"vllm:num_requests_waiting"})
RUNNING_NAMES = frozenset({"vllm:num_requests_running"})
KV_USAGE_NAMES = frozenset({"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"})


@dataclass(frozen=True, slots=True)
class EngineMetrics:
    """What one scrape says about an engine's load."""

    waiting: float
    running: float
    kv_usage: float


def _samples(text: str) -> Iterable[tuple[str, float]]:
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name = line[: line.index("{")]
            rest = line[line.rfind("}") + 1 :].split()
        else:
            name, *rest = line.split()
        if not rest:
            continue
        try:
            value = float(rest[0])
        except ValueError:
            continue
        if math.isfinite(value):
            yield name.strip(), value


def parse_engine_metrics(text: str) -> EngineMetrics | None:
    """The engine's waiting, running and KV-cache usage, or None when the text has none of them."""
    waiting = running = 0.0
    kv_usage: float | None = None
    seen = False
    for name, value in _samples(text):
        if name in WAITING_NAMES:
            waiting += value
        elif name in RUNNING_NAMES:
            running += value
        elif name in KV_USAGE_NAMES:
            kv_usage = value if kv_usage is None else max(kv_usage, value)
        else:
            continue
        seen = True
    if not seen:
        return None
    return EngineMetrics(waiting, running, kv_usage or 0.0)


class HealthChecker:
    """Probes every backend of a fleet each `interval_s` and feeds the results into it; `rng`
    (the gateway's one generator) jitters the breakers that outlier ejection opens."""

    def __init__(
        self,
        fleet: Fleet,
        client: httpx.AsyncClient,
        clock: Clock,
        rng: random.Random,
        settings: ProbeSettings | None = None,
    ) -> None:
        self.fleet = fleet
        self.client = client
        self.clock = clock
        self.rng = rng
        self.settings = settings or fleet.routing.probes
        self._gate = asyncio.Semaphore(self.settings.max_concurrency)

    async def check_backend(self, backend: Backend) -> bool:
        """Probe one backend (and scrape its metrics when it is up); returns the probe verdict."""
        async with self._gate:
            ok = await self._probe(backend)
            self.fleet.health.probe_result(backend.id, ok, self.clock.now())
            if ok and self.settings.metrics_path is not None:
                metrics = await self._scrape(backend, self.settings.metrics_path)
                if metrics is not None:
                    waiting, running, kv_usage = metrics.waiting, metrics.running, metrics.kv_usage
                    now = self.clock.now()
                    self.fleet.load.record_metrics(backend.id, waiting, running, kv_usage, now)
            return ok

    async def check_all(self) -> dict[str, bool]:
        """Probe every backend at once (bounded by `max_concurrency`); then eject outliers."""
        backends = self.fleet.index.backends
        verdicts = await asyncio.gather(*(self.check_backend(b) for b in backends))
        self.fleet.health.detect_outliers(self.clock.now(), self.rng)
        return {backend.id: ok for backend, ok in zip(backends, verdicts, strict=True)}

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `interval_s` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.check_all()
            except Exception:  # the checker outlives any one bad round
                LOG.exception("health check round failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.interval_s)
            except TimeoutError:
                continue

    async def _probe(self, backend: Backend) -> bool:
        try:
            response = await self.client.get(
                backend.url + self.settings.health_path, timeout=self.settings.timeout_s
            )
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    async def _scrape(self, backend: Backend, path: str) -> EngineMetrics | None:
        try:
            response = await self.client.get(backend.url + path, timeout=self.settings.timeout_s)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return parse_engine_metrics(response.text)
