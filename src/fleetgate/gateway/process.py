"""Everything one gateway process owns, built from `Settings` by `Gateway.build`.

No module-level state: the app factory makes one `Gateway` and every handler reaches it through
the app. Background work (settlements that must outlive a cancelled stream, health probes) is
tracked here so shutdown can wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from fleetgate.gateway.fleet_runtime import FleetRuntime
from fleetgate.gateway.metrics import GatewayMetrics
from fleetgate.keys.keystore import KeyStore
from fleetgate.limits.stores.guard import GuardedLimiter, open_limiter
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.router import Router
from fleetgate.seams import WallClock
from fleetgate.settings import Settings, TenantSettings
from fleetgate.upstream.client import Timeouts, UpstreamClient

log = logging.getLogger("fleetgate.gateway")

AUTH_CACHE_SECONDS = 2.0
"""How long a verified key is trusted before the key store is asked again (revocation delay)."""


class Gateway:
    """The live objects of one gateway process."""

    def __init__(
        self,
        settings: Settings,
        *,
        keys: KeyStore,
        limiter: GuardedLimiter,
        fleet: Fleet,
        router: Router,
        client: UpstreamClient,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.limiter = limiter
        self.fleet = fleet
        self.router = router
        self.client = client
        self.metrics = GatewayMetrics()
        self.metrics.watch_limiter(limiter)
        self.clock = WallClock()
        self.rng = rng
        """The process's one random generator: routing, retry backoff, breaker jitter."""
        self.fleet_runtime = FleetRuntime(fleet, self.clock, rng, self.metrics.registry)
        self.tenants: dict[str, TenantSettings] = {t.id: t for t in settings.tenants}
        self.models = {m.id: m for m in settings.models}
        self.admin_key = os.environ.get(settings.server.admin_key_env) or None
        self.draining = False
        self._auth_cache: dict[str, tuple[str, float]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.in_flight = 0

    @classmethod
    def build(cls, settings: Settings, *, state_path: str | None = None) -> Gateway:
        """Make every collaborator from settings (stores are opened, not yet connected)."""
        path = state_path or settings.server.state_path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        fleet = Fleet.from_settings(settings)
        server = settings.server
        timeouts = Timeouts(
            connect=server.connect_timeout_s,
            first_byte=server.first_byte_timeout_s,
            read=server.read_timeout_s,
        )
        return cls(
            settings,
            keys=KeyStore(path),
            limiter=open_limiter(settings.limits, settings.tenants),
            fleet=fleet,
            router=Router(fleet),
            client=UpstreamClient(timeouts),
            rng=random.Random(server.seed),
        )

    def now(self) -> float:
        return self.clock.now()

    def tenant_for_key(self, key: str) -> str | None:
        """The tenant id of an API key, using a short-lived cache of verified keys."""
        now = time.monotonic()
        cached = self._auth_cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        tenant = self.keys.verify(key)
        if tenant is not None:
            if len(self._auth_cache) > 10_000:
                self._auth_cache.clear()
            self._auth_cache[key] = (tenant, now + AUTH_CACHE_SECONDS)
        return tenant

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` in the background, tracked so shutdown can wait for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def start(self) -> None:
        await self.client.start()
        await self.fleet_runtime.start()

    async def stop(self, grace_s: float = 30.0) -> None:
        """Wait (bounded) for in-flight work and background settlements, then close."""
        self.draining = True
        deadline = time.monotonic() + grace_s
        while (self.in_flight or self._tasks) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await self.fleet_runtime.stop()
        await self.client.close()
        await self.limiter.close()
        self.keys.close()
