"""The Redis store beyond the shared contract: one round trip, server time, hash-tagged keys,
durable state, expiry of idle state, multipliers across replicas, outages and recovery."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
from limits_redis_servers import redis_server
from redis.asyncio.connection import Connection as AsyncConnection

from conftest import free_port
from fleetgate.errors import ConfigurationError, Overloaded, StoreUnavailable
from fleetgate.limits.limiter import Limiter
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.limits.rules import Costs, Rule
from fleetgate.limits.stores.guard import GuardedLimiter
from fleetgate.limits.stores.redis import RedisClock, RedisStore, open_redis_store, state_key
from fleetgate.limits.stores.seam import store_from_uri
from fleetgate.seams import ManualClock, Usage
from fleetgate.settings import TenantSettings, settings_from_mapping

pytestmark = pytest.mark.redis

NOW = 1_764_590_400.0
RPM = Rule("rpm", "requests", "bucket", "requests", "organization", 5.0, 5.0, rate=5.0 / 60)
SESSION = Rule(
    "5h",
    "five_hour",
    "session",
    "units",
    "plan",
    100.0,
    100.0,
    period=18_000.0,
    multiplier_keys=("test-plan:five_hour",),
)
WEEK = Rule("7d", "seven_day", "fixed", "units", "plan", 1_000.0, 1_000.0, period=604_800.0)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def run(url: str, scenario: Callable[[RedisStore], Awaitable[None]], **options: float) -> None:
    async def main() -> None:
        store = open_redis_store(url)
        for name, value in options.items():
            setattr(store, name, value)
        try:
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_keys_are_hash_tagged_per_tenant_and_state_survives_a_restart(redis_url: str) -> None:
    key = unique("plan:acme")
    assert state_key(key) == f"fleetgate:{{{key}}}:state"

    async def first(store: RedisStore) -> None:
        decision = await store.admit(key, (SESSION, WEEK), Costs(units=60.0), NOW)
        assert decision.admitted
        assert await store.client.exists(state_key(key)) == 1

    async def after_restart(store: RedisStore) -> None:
        decision = await store.admit(key, (SESSION, WEEK), Costs(units=60.0), NOW + 10)
        assert not decision.admitted and decision.blocking == (0,)
        assert decision.retry_after == pytest.approx(18_000.0 - 10)
        statuses = await store.peek(key, (SESSION, WEEK), NOW + 10)
        assert [s.used for s in statuses] == [60.0, 60.0]
        await store.client.delete(state_key(key))

    run(redis_url, first)
    run(redis_url, after_restart)


def test_one_round_trip_per_admission_settlement_and_read(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted twice: every command redis-py packs for sending, and what Redis executed."""
    key = unique("org:rt")
    stats = redis.Redis.from_url(redis_url)
    sent: list[object] = []
    pack = AsyncConnection.pack_command

    def counting(self: AsyncConnection, *args: Any) -> Any:
        sent.append(args[0])
        return pack(self, *args)

    async def scenario(store: RedisStore) -> None:
        await store.peek(key, (RPM,), NOW)  # connect and load the script first
        stats.config_resetstat()
        monkeypatch.setattr(AsyncConnection, "pack_command", counting)
        for step in range(3):
            decision = await store.admit(key, (RPM, SESSION, WEEK), Costs(1.0, units=5.0), NOW)
            await store.settle(key, (RPM, SESSION, WEEK), decision.charges, Costs(1.0), NOW)
            await store.peek(key, (RPM, SESSION, WEEK), NOW + step)
        monkeypatch.undo()
        commands = {
            name: info["calls"]
            for name, info in stats.info("commandstats").items()
            if not name.startswith(("cmdstat_info", "cmdstat_config"))
        }
        assert sent == ["EVALSHA"] * 9
        assert commands.pop("cmdstat_evalsha") == 9
        inside_the_script = {"cmdstat_hmget", "cmdstat_hset", "cmdstat_pttl", "cmdstat_pexpire"}
        assert set(commands) <= inside_the_script
        await store.client.delete(state_key(key))

    try:
        run(redis_url, scenario)
    finally:
        stats.close()


def test_script_is_loaded_again_after_a_script_flush(redis_url: str) -> None:
    key = unique("org:flush")

    async def scenario(store: RedisStore) -> None:
        assert (await store.admit(key, (RPM,), Costs(1.0), NOW)).admitted
        await store.client.script_flush()
        decision = await store.admit(key, (RPM,), Costs(1.0), NOW)
        assert decision.admitted and decision.statuses[0].remaining == 3.0
        await store.client.delete(state_key(key))

    run(redis_url, scenario)


def test_the_redis_clock_is_server_time_read_once_per_interval(redis_url: str) -> None:
    key = unique("org:time")

    async def scenario(store: RedisStore) -> None:
        clock = RedisClock(store, resync_s=60.0, wall=lambda: 0.0)
        assert clock.now() == 0.0 and clock.stale()  # before any reading: the local wall clock
        await clock.refresh()
        assert not clock.stale() and clock.readings == 1
        assert abs(clock.now() - await store.server_time()) < 1.0
        assert abs(clock.now() - time.time()) < 5.0  # this test's server runs on this host
        decision = await store.admit(key, (RPM,), Costs(1.0), clock.now())
        assert (await store.state_of(key))["rpm:ts"] == decision.now
        assert isinstance(store.clock(), RedisClock)
        await store.client.delete(state_key(key))

    run(redis_url, scenario)


def test_idle_state_expires_and_a_ttl_is_never_shortened(redis_url: str) -> None:
    fast = Rule("fast", "requests", "bucket", "requests", "organization", 10.0, 10.0, rate=100.0)
    slow = Rule("slow", "requests", "bucket", "requests", "organization", 10.0, 10.0, rate=5.0)
    idle_key, busy_key, slow_key = unique("org:idle"), unique("plan:busy"), unique("org:slow")

    async def scenario(store: RedisStore) -> None:
        await store.admit(idle_key, (fast,), Costs(1.0), NOW)
        assert await store.ttl_of(idle_key) <= 0.51  # 0.01 s refill + 0.5 s margin
        await store.admit(slow_key, (slow,), Costs(9.0), NOW)
        assert 1.3 < await store.ttl_of(slow_key) <= 2.3  # 9 tokens at 5 per second + margin
        await store.admit(busy_key, (SESSION,), Costs(units=1.0), NOW)
        assert await store.ttl_of(busy_key) == pytest.approx(18_000.5, abs=5)
        await store.admit(busy_key, (fast,), Costs(1.0), NOW)
        assert await store.ttl_of(busy_key) == pytest.approx(18_000.5, abs=5)
        await asyncio.sleep(1.0)
        assert await store.client.exists(state_key(idle_key)) == 0
        statuses = await store.peek(idle_key, (fast,), NOW)
        assert statuses[0].remaining == 10.0
        await store.client.delete(state_key(busy_key), state_key(slow_key))

    run(redis_url, scenario, ttl_margin=0.5)


def test_a_multiplier_change_applies_to_the_next_admission_on_every_replica(
    redis_url: str,
) -> None:
    key = unique("plan:mult")
    name = "test-plan:five_hour"

    async def scenario(replica_a: RedisStore) -> None:
        replica_b = open_redis_store(redis_url)
        try:
            assert (await replica_a.admit(key, (SESSION,), Costs(units=100.0), NOW)).admitted
            assert not (await replica_b.admit(key, (SESSION,), Costs(units=50.0), NOW)).admitted
            await replica_a.set_multiplier(name, 1.5)
            assert (await replica_b.get_multipliers())[name] == 1.5
            decision = await replica_b.admit(key, (SESSION,), Costs(units=50.0), NOW)
            assert decision.admitted and decision.statuses[0].capacity == 150.0
            await replica_b.set_multiplier(name, 1.0)
            assert name not in await replica_a.get_multipliers()
            assert not (await replica_a.admit(key, (SESSION,), Costs(units=1.0), NOW)).admitted
            with pytest.raises(ValueError, match="positive"):
                await replica_a.set_multiplier(name, float("nan"))
        finally:
            await replica_a.client.delete(state_key(key))
            await replica_b.close()

    run(redis_url, scenario)


def test_shadow_rules_are_reported_but_never_refuse(redis_url: str) -> None:
    key = unique("org:shadow")
    shadow = Rule(
        "s", "requests", "bucket", "requests", "organization", 1.0, 1.0, 0.01, shadow=True
    )

    async def scenario(store: RedisStore) -> None:
        first = await store.admit(key, (shadow, WEEK), Costs(1.0, units=1.0), NOW)
        second = await store.admit(key, (shadow, WEEK), Costs(1.0, units=1.0), NOW)
        assert first.admitted and first.shadow_refused == ()
        assert second.admitted and second.shadow_refused == (0,) and second.blocking == ()
        assert [c.rule_index for c in second.charges] == [1]
        await store.client.delete(state_key(key))

    run(redis_url, scenario)


def test_a_redis_error_is_a_store_error_not_a_crash(redis_url: str) -> None:
    key = unique("org:wrongtype")

    async def scenario(store: RedisStore) -> None:
        await store.client.set(state_key(key), "not a hash")
        with pytest.raises(StoreUnavailable, match="WRONGTYPE"):
            await store.admit(key, (RPM,), Costs(1.0), NOW)
        assert (await store.admit(unique("org:fine"), (RPM,), Costs(1.0), NOW)).admitted
        await store.client.delete(state_key(key))

    run(redis_url, scenario)


@pytest.mark.parametrize(
    "uri", ["redis://127.0.0.1:notaport/0", "redis+cluster:///0", "redis://h/0?socket_timeout=x"]
)
def test_bad_redis_uris_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError, match=r"limits\.store"):
        store_from_uri(uri)


def test_an_unreachable_store_fails_fast_and_recovers_when_redis_returns() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    key = unique("org:outage")

    async def scenario() -> None:
        store = open_redis_store(url)
        store.retry_interval = 0.3
        try:
            with pytest.raises(StoreUnavailable, match="connect"):
                await store.admit(key, (RPM,), Costs(1.0), NOW)
            with pytest.raises(StoreUnavailable, match="retrying shortly"):
                await store.admit(key, (RPM,), Costs(1.0), NOW)
            with redis_server(port):
                await asyncio.sleep(0.35)
                assert (await store.admit(key, (RPM,), Costs(1.0), NOW)).admitted
        finally:
            await store.close()

    asyncio.run(scenario())


def limiter_settings(url: str, mode: str) -> object:
    return settings_from_mapping(
        {
            "tenants": [{"id": "acme", "tier": "tier-1"}],
            "limits": {"profile": "v2025", "on_store_error": mode, "store": url},
        }
    )


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_limiter_over_redis_survives_an_outage(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    tenant = TenantSettings(id="acme", tier="tier-1")
    demand = AdmissionRequest("messages", "sonnet", 1_000, 0, 0, 100)

    async def scenario() -> None:
        settings = limiter_settings(url, mode)
        store = open_redis_store(url)
        store.retry_interval = 0.0
        limiter = GuardedLimiter(
            Limiter(settings.limits, settings.tenants), store, ManualClock(NOW)
        )
        try:
            with redis_server(port):
                admitted = await limiter.admit(tenant, demand)
            with caplog.at_level(logging.WARNING, logger="fleetgate.limits"):
                assert await limiter.settle(admitted, Usage(1_000, 50))
                if mode == "open":
                    assert not (await limiter.admit(tenant, demand)).limited
                else:
                    with pytest.raises(Overloaded):
                        await limiter.admit(tenant, demand)
            assert limiter.store_errors == 2 and limiter.pending_settlements == 1
            assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1
            with redis_server(port):
                again = await limiter.admit(tenant, demand)
                assert again.limited and limiter.pending_settlements == 0
                # a fresh server without persistence: only this admission is counted
                assert again.headers()["anthropic-ratelimit-requests-remaining"] == "49"
        finally:
            await limiter.close()

    asyncio.run(scenario())


def test_a_redis_restart_between_requests_goes_unnoticed() -> None:
    port = free_port()
    key = unique("org:restart")

    async def scenario() -> None:
        store = open_redis_store(f"redis://127.0.0.1:{port}/0")
        try:
            with redis_server(port):
                assert (await store.admit(key, (RPM,), Costs(1.0), NOW)).admitted
            with redis_server(port):  # the idle connection is stale now: retried once, fresh
                decision = await store.admit(key, (RPM,), Costs(1.0), NOW)
                assert decision.admitted and decision.statuses[0].remaining == 4.0
        finally:
            await store.close()

    asyncio.run(scenario())


BUSY_LUA = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start > 300000
return 1
"""


def test_a_cancelled_admission_never_leaves_its_reply_to_the_next_one(redis_url: str) -> None:
    key = unique("org:cancel")
    other = unique("org:other")

    async def scenario(store: RedisStore) -> None:
        await store.peek(key, (RPM,), NOW)  # one idle connection
        blocker = redis.Redis.from_url(redis_url)
        busy = asyncio.create_task(asyncio.to_thread(blocker.eval, BUSY_LUA, 0))
        await asyncio.sleep(0.05)  # the server is busy for 0.3 s from now
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(store.admit(key, (RPM,), Costs(1.0), NOW), timeout=0.05)
        await busy
        blocker.close()
        decision = await store.admit(other, (WEEK,), Costs(units=7.0), NOW)
        assert decision.admitted and decision.statuses[0].used == 7.0
        statuses = await store.peek(other, (WEEK,), NOW)
        assert statuses[0].used == 7.0
        await store.client.delete(state_key(key), state_key(other))

    run(redis_url, scenario)
