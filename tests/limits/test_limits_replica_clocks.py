"""Two gateway replicas whose local clocks are 30 s apart share one Redis: on the store's clock
(`RedisClock`, the server's TIME) they never over-admit a window or a bucket together and report
the same reset; on their own clocks they do over-admit (the control that shows the test bites)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from fleetgate.errors import RateLimited
from fleetgate.limits.catalog import LimitsCatalog
from fleetgate.limits.config import LimitsSettings
from fleetgate.limits.headers import UNIFIED_PREFIX
from fleetgate.limits.limiter import Limiter
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.limits.stores.guard import GuardedLimiter
from fleetgate.limits.stores.redis import RedisClock, RedisStore, open_redis_store
from fleetgate.seams import Clock
from fleetgate.settings import Settings, TenantSettings, settings_from_mapping

pytestmark = pytest.mark.redis

SKEW_S = 30.0
LIMIT = 5
ATTEMPTS = 12
REQUEST = AdmissionRequest("messages", "sonnet", 1_000, 0, 0, 0)
WINDOW_RESET = f"{UNIFIED_PREFIX}5h-reset"
BUCKET_RESET = "anthropic-ratelimit-requests-reset"


class LocalClock:
    """A replica's own wall clock, `offset` seconds off."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


def fleet() -> Settings:
    """One plan account whose 5-hour window holds exactly `LIMIT` requests, and one API
    organization whose requests bucket holds `LIMIT` per minute."""
    units = LimitsCatalog.from_settings(LimitsSettings()).weights_for("sonnet").input * 1_000
    suffix = uuid.uuid4().hex[:8]
    return settings_from_mapping(
        {
            "tenants": [
                {"id": f"skew-user-{suffix}", "plan": "tiny"},
                {"id": f"skew-org-{suffix}", "tier": "tiny-tier"},
            ],
            "limits": {
                "plans": {"tiny": {"five_hour": units * (LIMIT + 0.5), "seven_day": 1e15}},
                "tiers": {
                    "tiny-tier": {
                        "families": {"sonnet": {"rpm": LIMIT, "itpm": 10**9, "otpm": 10**9}}
                    }
                },
            },
        }
    )


async def alternate(
    replicas: list[GuardedLimiter], tenant: TenantSettings, reset_header: str
) -> tuple[int, list[str]]:
    """Requests from the replica that is ahead, then the other, and so on: (admitted, every
    reset reported, admissions and refusals alike)."""
    admitted, resets = 0, []
    for attempt in range(ATTEMPTS):
        limiter = replicas[1 - attempt % 2]
        try:
            admission = await limiter.admit(tenant, REQUEST)
        except RateLimited as refusal:
            resets.append(refusal.headers[reset_header])
            continue
        admitted += 1
        resets.append(admission.headers()[reset_header])
    return admitted, resets


def run_pair(
    redis_url: str, clocks: Callable[[RedisStore, float], Clock]
) -> dict[str, tuple[int, list[str]]]:
    """Two replicas (own store connections and clocks, one 30 s ahead) admitting alternately,
    for the plan account and for the API organization."""
    settings = fleet()
    plan_user, org = settings.tenants

    async def main() -> dict[str, tuple[int, list[str]]]:
        replicas = []
        for offset in (0.0, SKEW_S):
            store = open_redis_store(redis_url)
            limiter = Limiter(settings.limits, settings.tenants)
            replicas.append(GuardedLimiter(limiter, store, clocks(store, offset)))
        try:
            found = {
                "window": await alternate(replicas, plan_user, WINDOW_RESET),
                "bucket": await alternate(replicas, org, BUCKET_RESET),
            }
            for replica in replicas:
                if isinstance(replica.clock, RedisClock):
                    assert replica.clock.readings == 1  # no round trip per request
            return found
        finally:
            for replica in replicas:
                await replica.close()

    return asyncio.run(main())


def server_clock(store: RedisStore, offset: float) -> Clock:
    """The store's clock, on a replica whose own wall and monotonic clocks are `offset` off."""
    return RedisClock(
        store,
        wall=lambda: time.time() + offset,
        monotonic=lambda: time.monotonic() + 1_000.0 * offset,
    )


def seconds(reset: str) -> float:
    return datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()


def test_replicas_with_skewed_clocks_agree_on_the_servers_clock(redis_url: str) -> None:
    found = run_pair(redis_url, server_clock)
    admitted, resets = found["window"]
    assert admitted == LIMIT
    assert len(set(resets)) == 1  # one 5-hour window, one reset, whichever replica answers
    admitted, resets = found["bucket"]
    assert admitted == LIMIT
    stamps = [seconds(reset) for reset in resets[LIMIT:]]  # the refusals, from both replicas
    assert len(stamps) == ATTEMPTS - LIMIT
    assert max(stamps) - min(stamps) <= 1.0  # one second apart at most (RFC 3339 seconds)


def test_replicas_on_their_own_skewed_clocks_over_admit(redis_url: str) -> None:
    def local(_store: Any, offset: float) -> Clock:
        return LocalClock(offset)

    found = run_pair(redis_url, local)
    assert found["window"][0] > LIMIT  # each replica starts its own 5-hour window
    assert found["bucket"][0] > LIMIT  # 30 s of refill appear from nowhere
