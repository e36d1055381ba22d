"""Four gateway processes share one Redis; 50 concurrent clients hammer one tenant: the number of
admitted requests never exceeds the limit.

Each process builds its own `GuardedLimiter` on the Redis store (as a gateway replica does) and
runs its share of the 50 asyncio clients; a Redis counter is the start barrier so that all four
really run at the same time.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import uuid

import pytest
import redis

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PROCESSES = 4
CLIENTS = 50
ATTEMPTS = 12
RPM = 60

WORKER = r"""
import asyncio, json, sys, time
import redis.asyncio
from fleetgate.errors import RateLimited
from fleetgate.limits.limiter import Limiter
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.limits.stores.guard import GuardedLimiter, open_limiter
from fleetgate.limits.stores.seam import store_from_uri
from fleetgate.settings import settings_from_mapping
from fleetgate.seams import ManualClock

url, tenant_id, barrier, clients, attempts, rpm, fixed_now = sys.argv[1:8]
settings = settings_from_mapping({
    "tenants": [{"id": tenant_id, "tier": "mp-tier"}],
    "limits": {
        "store": url,
        "on_store_error": "closed",
        "tiers": {"mp-tier": {"families": {"sonnet": {"rpm": int(rpm), "itpm": 10**9,
                                                      "otpm": 10**9}}}},
    },
})
demand = AdmissionRequest("messages", "sonnet", 10, 0, 0, 10)

async def client(limiter, tenant):
    admitted = refused = 0
    for _ in range(int(attempts)):
        try:
            await limiter.admit(tenant, demand)
            admitted += 1
        except RateLimited:
            refused += 1
    return admitted, refused

async def main():
    if fixed_now == "server":
        limiter = open_limiter(settings.limits, settings.tenants)
    else:
        core = Limiter(settings.limits, settings.tenants)
        limiter = GuardedLimiter(core, store_from_uri(url), ManualClock(float(fixed_now)))
    sync = redis.asyncio.Redis.from_url(url)
    await sync.incr(barrier)
    deadline = time.monotonic() + 60
    while int(await sync.get(barrier)) < 4 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await sync.aclose()
    tenant = settings.tenants[0]
    results = await asyncio.gather(*(client(limiter, tenant) for _ in range(int(clients))))
    await limiter.close()
    print(json.dumps({"admitted": sum(a for a, _ in results), "refused": sum(r for _, r in results),
                      "errors": limiter.store_errors}))

asyncio.run(main())
"""


def hammer(redis_url: str, fixed_now: str) -> tuple[int, int, float]:
    """(admitted, refused, seconds) over all processes."""
    tenant = f"mp-{uuid.uuid4().hex[:8]}"
    barrier = f"fleetgate-test:{tenant}:barrier"
    shares = [
        CLIENTS // PROCESSES + (1 if i < CLIENTS % PROCESSES else 0) for i in range(PROCESSES)
    ]
    started = time.time()
    settings = [str(ATTEMPTS), str(RPM), fixed_now]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, tenant, barrier, str(share), *settings],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    elapsed = time.time() - started
    client = redis.Redis.from_url(redis_url)
    client.delete(barrier, f"fleetgate:{{org:{tenant}}}:state")
    client.close()
    assert all(o["errors"] == 0 for o in outputs)
    admitted = sum(o["admitted"] for o in outputs)
    refused = sum(o["refused"] for o in outputs)
    assert admitted + refused == CLIENTS * ATTEMPTS
    return admitted, refused, elapsed


def test_four_replicas_at_one_instant_admit_exactly_the_limit(redis_url: str) -> None:
    admitted, refused, _ = hammer(redis_url, fixed_now="1764590400.0")
    assert admitted == RPM  # no refill at a frozen instant: exactly the bucket, never more
    assert refused == CLIENTS * ATTEMPTS - RPM


def test_four_replicas_on_server_time_never_exceed_the_limit(redis_url: str) -> None:
    admitted, _, elapsed = hammer(redis_url, fixed_now="server")
    refill = RPM / 60.0 * elapsed
    assert RPM <= admitted <= RPM + math.ceil(refill)
