"""The Redis store on a Redis Cluster (one node owning all 16,384 slots, so cross-slot access is
refused exactly as on a real cluster): one-slot scripts, multipliers on every replica."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from limits_redis_servers import one_node_cluster
from redis.crc import key_slot

from conftest import free_port
from fleetgate.limits.rules import Costs, Rule
from fleetgate.limits.stores.memory import MemoryStore
from fleetgate.limits.stores.redis import RedisStore, slot_tags, state_key
from fleetgate.limits.stores.seam import store_from_uri

pytestmark = pytest.mark.redis

NOW = 1_764_590_400.0
RULES = (
    Rule("rpm", "requests", "bucket", "requests", "organization", 3.0, 3.0, rate=0.05),
    Rule(
        "5h",
        "five_hour",
        "session",
        "units",
        "plan",
        100.0,
        100.0,
        period=18_000.0,
        multiplier_keys=("cluster-plan:five_hour",),
    ),
)


@pytest.fixture(scope="module")
def cluster_uri() -> Iterator[str]:
    with one_node_cluster(free_port()) as uri:
        yield uri


def test_every_slot_has_a_multiplier_copy_tag() -> None:
    tags = slot_tags()
    assert len(tags) == 16_384
    assert [key_slot(tag.encode()) for tag in tags] == list(range(16_384))


def test_cluster_store_matches_the_memory_store(cluster_uri: str) -> None:
    keys = [f"plan:cluster-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    assert len({key_slot(state_key(key).encode()) for key in keys}) > 1

    async def scenario() -> None:
        store = store_from_uri(cluster_uri)
        assert isinstance(store, RedisStore) and store.cluster
        memory = MemoryStore()
        try:
            for step in range(5):
                for key in keys:
                    costs = Costs(1.0, units=30.0)
                    got = await store.admit(key, RULES, costs, NOW + step)
                    assert got == memory.admit(key, RULES, costs, NOW + step)
                    if got.charges:
                        actual = Costs(1.0, units=10.0)
                        settled = await store.settle(key, RULES, got.charges, actual, NOW + step)
                        expected = memory.settle(key, RULES, got.charges, actual, NOW + step)
                        assert settled == expected
            for key in keys:
                assert await store.state_of(key) == memory.state_of(key)
                assert await store.peek(key, RULES, NOW + 9) == memory.peek(key, RULES, NOW + 9)
        finally:
            for key in keys:
                await store.client.delete(state_key(key))
            await store.close()

    asyncio.run(scenario())


def test_a_multiplier_reaches_every_tenant_on_every_replica(cluster_uri: str) -> None:
    keys = [f"plan:cluster-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    name = "cluster-plan:five_hour"

    async def scenario() -> None:
        replica_a = store_from_uri(cluster_uri)
        replica_b = store_from_uri(cluster_uri)
        assert isinstance(replica_a, RedisStore) and isinstance(replica_b, RedisStore)
        try:
            for key in keys:
                assert (await replica_a.admit(key, RULES[1:], Costs(units=100.0), NOW)).admitted
                assert not (await replica_b.admit(key, RULES[1:], Costs(units=1.0), NOW)).admitted
            await replica_a.set_multiplier(name, 3.0)
            assert await replica_b.get_multipliers() == {name: 3.0}
            for key in keys:
                decision = await replica_b.admit(key, RULES[1:], Costs(units=150.0), NOW)
                assert decision.admitted and decision.statuses[0].capacity == 300.0
            await replica_b.set_multiplier(name, 1.0)
            assert await replica_a.get_multipliers() == {}
            assert not (await replica_a.admit(keys[0], RULES[1:], Costs(units=1.0), NOW)).admitted
        finally:
            for key in keys:
                await replica_a.client.delete(state_key(key))
            await replica_a.close()
            await replica_b.close()

    asyncio.run(scenario())
