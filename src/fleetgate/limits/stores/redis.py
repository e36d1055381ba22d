"""The Redis limit store (`redis://`, `rediss://`, `redis+cluster://`): shared, durable state.

Every admission, settlement and read is ONE call of one Lua script (``lua/limits.lua``, loaded
once, EVALSHA with a NOSCRIPT fallback) that runs the limit math atomically on the server at the
`now` it is given. Keys: ``fleetgate:{<key>}:state``, hash-tagged by the
tenant or organization key so that a Redis Cluster keeps each key's state in one slot. The
script keeps a key alive while its numbers matter (longest bucket refill or window end, plus a
margin) and lets idle state expire.

Live multipliers are read by the script in the same call, so a change is effective on the very
next admission of every replica. A standalone Redis holds them in ``fleetgate:multipliers``. In
a cluster a script may only touch keys of one slot, so the store keeps one copy of the
multiplier hash per slot (``fleetgate:{<tag>}:multipliers``, `tag` chosen to fall in that slot)
and `set_multiplier` writes all 16,384 copies before it returns (a rare admin operation).

On a standalone Redis the calls go through `DirectCalls` (its own connection free list, one
deadline per call), the cheapest path redis-py offers; a cluster goes through `RedisCluster`.

The store's clock is `RedisClock`: the server's TIME, read once every `resync_s` seconds and
advanced on the local monotonic clock in between (no round trip per request), so replicas whose
own clocks disagree still stamp windows and resets alike.

Any Redis failure raises `StoreUnavailable` (the `GuardedLimiter` applies fail-open or
fail-closed).
After a connection failure the store answers `StoreUnavailable` at once for `retry_interval`
seconds instead of making every request wait for a dead server, then tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from fleetgate.errors import ConfigurationError, StoreUnavailable
from fleetgate.limits.rules import Charge, Costs, Decision, Rule, RuleStatus, Settlement
from fleetgate.limits.stores import codec
from fleetgate.seams import Clock

SCRIPT = resources.files("fleetgate.limits.stores").joinpath("lua/limits.lua").read_text("utf-8")
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()
PREFIX = "fleetgate"
DEFAULT_OPTIONS: dict[str, Any] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
T = TypeVar("T")


def state_key(key: str) -> str:
    """The Redis key of one tenant's or organization's limit state."""
    return f"{PREFIX}:{{{key}}}:state"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def slot_tags() -> list[str]:
    """For every cluster slot, a short hash tag whose keys fall in that slot."""
    tags: list[str | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    missing = REDIS_CLUSTER_HASH_SLOTS
    candidate = 0
    while missing:
        tag = format(candidate, "x")
        slot = key_slot(tag.encode())
        if tags[slot] is None:
            tags[slot] = tag
            missing -= 1
        candidate += 1
    return [tag for tag in tags if tag is not None]


class DirectCalls:
    """Sends one command at a time on connections of its own free list (standalone Redis):
    the shortest path redis-py offers, without the pool's lock, the retry wrapper and two
    socket timers on every call (one deadline covers the whole call instead); about 30 µs of a
    ~120 µs admission. A connection is reused only after its reply was read completely; a
    dropped connection is retried once on a fresh one."""

    def __init__(self, pool: ConnectionPool, keep: int = 256) -> None:
        self._pool = pool
        self._idle: list[AbstractConnection] = []
        self._keep = keep
        timeout = pool.connection_kwargs.get("socket_timeout")
        self.timeout: float | None = float(timeout) if timeout else None

    def _new_connection(self) -> AbstractConnection:
        connection: AbstractConnection = self._pool.make_connection()  # type: ignore[no-untyped-call]
        connection.socket_timeout = None  # the call's own deadline applies
        return connection

    async def _release(self, connection: AbstractConnection) -> None:
        if len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            await _drop(connection)

    async def _once(self, connection: AbstractConnection, packed: list[bytes]) -> Any:
        async with asyncio.timeout(self.timeout):
            await connection.send_packed_command(packed, check_health=False)
            return await connection.read_response(timeout=math.inf)

    async def call(self, *args: str | bytes | float) -> Any:
        for attempt in (1, 2):
            connection = self._idle.pop() if self._idle else self._new_connection()
            try:
                reply = await self._once(connection, connection.pack_command(*args))
            except ResponseError:
                await self._release(connection)  # the error reply was read in full
                raise
            except RedisConnectionError:
                await _drop(connection)
                if attempt == 2:
                    raise
                continue
            except BaseException:
                await _drop(connection)
                raise
            await self._release(connection)
            return reply
        raise AssertionError("unreachable")

    async def close(self) -> None:
        while self._idle:
            await _drop(self._idle.pop())


async def _drop(connection: AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.disconnect(nowait=True)


class RedisStore:
    """Limit state in Redis, shared by every gateway replica."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        ttl_margin: float = 60.0,
        retry_interval: float = 0.25,
        full_replies: bool = False,
    ) -> None:
        self.client = client
        self.full_replies = full_replies
        self.cluster = isinstance(client, RedisCluster)
        self.ttl_margin = ttl_margin
        self.retry_interval = retry_interval
        self._down_until = 0.0
        self._direct = DirectCalls(client.connection_pool) if isinstance(client, Redis) else None
        self._tags: list[str] | None = None
        self._encoded: dict[int, tuple[Sequence[Rule], bytes]] = {}

    # ------------------------------------------------------------------ keys

    def _tag_list(self) -> list[str]:
        if self._tags is None:
            self._tags = slot_tags()
        return self._tags

    def multiplier_key(self, key: str) -> str:
        """The multiplier hash that the script reads together with `key`'s state."""
        if not self.cluster:
            return f"{PREFIX}:multipliers"
        slot = key_slot(state_key(key).encode())
        return f"{PREFIX}:{{{self._tag_list()[slot]}}}:multipliers"

    def _multiplier_copies(self) -> list[str]:
        if not self.cluster:
            return [f"{PREFIX}:multipliers"]
        return [f"{PREFIX}:{{{tag}}}:multipliers" for tag in self._tag_list()]

    # ------------------------------------------------------------------ calls

    def _rule_blob(self, rules: Sequence[Rule]) -> bytes:
        cached = self._encoded.get(id(rules))
        if cached is not None and cached[0] is rules:
            return cached[1]
        encoded = codec.encode_rules(rules)
        if len(self._encoded) >= 512:
            self._encoded.clear()
        self._encoded[id(rules)] = (rules, encoded)
        return encoded

    def _failed(self, exc: BaseException) -> StoreUnavailable:
        if isinstance(exc, CONNECTION_ERRORS):
            self._down_until = time.monotonic() + self.retry_interval
        return StoreUnavailable(f"redis: {exc or type(exc).__name__}")

    def _check_breaker(self) -> None:
        if self._down_until and time.monotonic() < self._down_until:
            raise StoreUnavailable("redis: unreachable (retrying shortly)")
        self._down_until = 0.0

    async def _evalsha(self, keys: list[str], args: list[str | bytes | float]) -> Any:
        direct = self._direct
        if direct is None:
            try:
                return await self.client.evalsha(SCRIPT_SHA, len(keys), *keys, *args)
            except NoScriptError:
                await self.client.script_load(SCRIPT)
                return await self.client.evalsha(SCRIPT_SHA, len(keys), *keys, *args)
        try:
            return await direct.call("EVALSHA", SCRIPT_SHA, len(keys), *keys, *args)
        except NoScriptError:
            await direct.call("SCRIPT", "LOAD", SCRIPT)
            return await direct.call("EVALSHA", SCRIPT_SHA, len(keys), *keys, *args)

    async def _run(
        self, op: str, key: str, rules: Sequence[Rule], now: float, tail: bytes
    ) -> codec.Reply:
        self._check_breaker()
        keys = [state_key(key), self.multiplier_key(key)]
        moment = repr(float(now))
        detail = "full" if self.full_replies else ""
        args: list[str | bytes | float] = [
            op,
            moment,
            self.ttl_margin,
            self._rule_blob(rules),
            tail,
            detail,
        ]
        try:
            return codec.split_reply(await self._evalsha(keys, args))
        except (RedisError, *CONNECTION_ERRORS) as exc:
            raise self._failed(exc) from exc
        except ValueError as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    @staticmethod
    def _decoded(decode: Callable[..., T], *args: Any) -> T:
        try:
            return decode(*args)
        except (ValueError, IndexError) as exc:
            raise StoreUnavailable(f"redis: unusable reply from the limits script ({exc})") from exc

    # ------------------------------------------------------------------ LimitStore

    def clock(self) -> Clock:
        """The server's clock (`RedisClock`), read through this store."""
        return RedisClock(self)

    async def server_time(self) -> float:
        """The server's TIME, seconds since the Unix epoch (one round trip)."""
        self._check_breaker()
        try:
            if self._direct is not None:
                seconds, micros = await self._direct.call("TIME")
                return int(seconds) + int(micros) / 1e6
            # a cluster's nodes each have a clock: every replica asks the same one
            found = await self.client.time(target_nodes=RedisCluster.DEFAULT_NODE)
        except (RedisError, *CONNECTION_ERRORS) as exc:
            raise self._failed(exc) from exc
        return float(found[0]) + float(found[1]) / 1e6

    async def admit(self, key: str, rules: Sequence[Rule], demand: Costs, now: float) -> Decision:
        reply = await self._run("admit", key, rules, now, codec.encode_costs(demand))
        return self._decoded(codec.decode_admission, reply, rules, demand, self.full_replies)

    async def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float,
    ) -> Settlement:
        reply = await self._run("settle", key, rules, now, codec.encode_costs(actual, charges))
        return self._decoded(
            codec.decode_settlement, reply, rules, charges, actual, self.full_replies
        )

    async def peek(self, key: str, rules: Sequence[Rule], now: float) -> tuple[RuleStatus, ...]:
        reply = await self._run("read", key, rules, now, codec.NO_COSTS)
        return self._decoded(codec.decode_snapshot, reply, rules)

    async def get_multipliers(self) -> dict[str, float]:
        self._check_breaker()
        try:
            found = await self.client.hgetall(self._multiplier_copies()[0])
        except (RedisError, *CONNECTION_ERRORS) as exc:
            raise self._failed(exc) from exc
        return {_text(name): float(value) for name, value in found.items()}

    async def set_multiplier(self, name: str, factor: float) -> None:
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"a multiplier must be a positive number, got {factor!r}")
        self._check_breaker()
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for copy in self._multiplier_copies():
                    if factor == 1.0:
                        pipe.hdel(copy, name)
                    else:
                        pipe.hset(copy, name, float(factor))
                await pipe.execute()
        except (RedisError, *CONNECTION_ERRORS) as exc:
            raise self._failed(exc) from exc

    async def close(self) -> None:
        if self._direct is not None:
            await self._direct.close()
        await self.client.aclose()

    async def state_of(self, key: str) -> dict[str, float]:
        """The stored numbers of `key` (for tests and differential checks)."""
        found = await self.client.hgetall(state_key(key))
        return {_text(field): float(value) for field, value in found.items()}

    async def ttl_of(self, key: str) -> float:
        """Seconds until `key`'s state expires (negative: no state, or no expiry)."""
        milliseconds = await self.client.pttl(state_key(key))
        return float(milliseconds) / 1000.0 if milliseconds >= 0 else float(milliseconds)


class RedisClock:
    """The Redis server's clock as a `Clock`: TIME read once every `resync_s` seconds (two
    readings, the one with the shorter round trip kept, taken at the middle of it: off by at
    most half a round trip) and advanced on the local monotonic clock in between, so `now()`
    costs no round trip. Before the first reading it is the local wall clock.

    `refresh()` reads TIME; the `GuardedLimiter` calls it when `stale()`. A reading that fails
    keeps the last offset until the next try, `resync_s` later."""

    def __init__(
        self,
        store: RedisStore,
        *,
        resync_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.resync_s = resync_s
        self._monotonic = monotonic
        self._wall = wall
        self._offset: float | None = None
        self._next_reading = -math.inf
        self.readings = 0

    def now(self) -> float:
        offset = self._offset
        if offset is None:
            return self._wall()
        return self._monotonic() + offset

    def stale(self) -> bool:
        return self._monotonic() >= self._next_reading

    async def refresh(self) -> None:
        self._next_reading = self._monotonic() + self.resync_s  # one reading at a time
        best: tuple[float, float] | None = None  # (round trip, offset)
        for _ in range(2):  # the first may pay for a connection; keep the shorter round trip
            before = self._monotonic()
            server = await self._store.server_time()
            after = self._monotonic()
            reading = (after - before, server - (before + after) / 2.0)
            best = reading if best is None or reading < best else best
        assert best is not None
        self._offset = best[1]
        self.readings += 1


def open_redis_store(uri: str) -> RedisStore:
    """The store for a ``redis://``, ``rediss://`` or ``redis+cluster://`` URI (connects lazily).

    Query options of redis-py's URL syntax (``socket_timeout=...``) override the defaults:
    one-second socket timeouts and a single immediate retry on a dropped connection.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    options: dict[str, Any] = dict(DEFAULT_OPTIONS, retry=Retry(NoBackoff(), 1))
    try:
        if scheme == "redis+cluster":
            target = urlunsplit(("redis", *parts[1:]))
            if not parts.hostname:
                raise ValueError("a cluster URI needs a host")
            cluster = RedisCluster.from_url(target, **options)
            return RedisStore(cluster)
        if scheme not in ("redis", "rediss"):
            raise ValueError("not a Redis URI")
        return RedisStore(Redis.from_url(uri, **options))
    except (ValueError, TypeError, RedisError) as exc:
        raise ConfigurationError(f"limits.store: invalid Redis URI {uri!r} ({exc})") from exc
