"""The gateway's fleet machinery that lives as long as the process: the health checker (active
probes and engine-metric scrapes), the wait queue for saturated fleets, hedging statistics, the
access log, and the fleet's Prometheus collector.

`Gateway` makes one `FleetRuntime` and calls `start()` and `stop()` from its own start and stop
(the app's lifespan), so probes run exactly while the gateway serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import httpx
from prometheus_client import CollectorRegistry

from fleetgate.gateway.access_log import AccessLog
from fleetgate.gateway.health_probes import HealthChecker
from fleetgate.gateway.hedge_stats import HedgeStats
from fleetgate.gateway.queueing import WaitQueue
from fleetgate.gateway.routing_metrics import FleetCollector
from fleetgate.routing.fleet import Fleet
from fleetgate.seams import Clock

log = logging.getLogger("fleetgate.gateway")


class FleetRuntime:
    """Health checking, queueing, hedging and the access log of one gateway process."""

    def __init__(
        self, fleet: Fleet, clock: Clock, rng: random.Random, registry: CollectorRegistry
    ) -> None:
        self.fleet = fleet
        self.clock = clock
        self.rng = rng
        routing = fleet.routing
        self.queue = WaitQueue(routing.queue)
        self.hedges = HedgeStats(routing.hedging)
        self.access_log = AccessLog()
        registry.register(FleetCollector(fleet, clock))
        self._http: httpx.AsyncClient | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.checker: HealthChecker | None = None

    async def start(self) -> None:
        """Start probing (when `routing.probes.enabled`); idempotent."""
        if self._task is not None or not self.fleet.routing.probes.enabled:
            return
        self._stop = asyncio.Event()
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=self.fleet.routing.probes.max_concurrency)
        )
        self.checker = HealthChecker(self.fleet, self._http, self.clock, self.rng)
        self._task = asyncio.get_running_loop().create_task(self.checker.run(self._stop))

    async def stop(self) -> None:
        """Stop probing and close the probe client."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, self.fleet.routing.probes.timeout_s + 1.0)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
