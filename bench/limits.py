"""Benchmark: admissions per second for a request that checks five limits (two plan windows and
three token buckets), on fleetgate's memory and Redis stores, and side by side in the same run
the `limits` library doing the equivalent checks (one `hit` per limit, with the same costs) on
memory and on Redis, with its fixed-window and sliding-window-counter strategies (its moving
window stores one list entry per unit of cost, which token costs make impractical).

    .venv/bin/python bench/limits.py [--seconds 2] [--concurrency 32] [--redis-url URL]

Without --redis-url it starts its own throwaway redis-server on a free loopback port. Each
figure is the best of --repeat timed runs of about --seconds each, in one process on one
event loop (one core). fleetgate stamps memory with the local clock and Redis with the server's
(`RedisClock`: TIME read once every 10 s, advanced locally in between), as the gateway does.
Round trips per admission are counted by Redis itself (commandstats), TIME readings included.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from fleetgate.limits.rules import Costs, Rule
from fleetgate.limits.stores.memory import AsyncMemoryStore
from fleetgate.limits.stores.redis import RedisClock, RedisStore, open_redis_store

TENANTS = 100
BIG = 1e15  # budgets so large that every admission is admitted (the full write path runs)
RULES = (
    Rule("5h", "five_hour", "session", "units", "plan", BIG, BIG, period=18_000.0),
    Rule("7d", "seven_day", "fixed", "units", "plan", BIG, BIG, period=604_800.0, phase=3_600.0),
    Rule("rpm", "requests", "bucket", "requests", "organization", BIG, BIG, rate=BIG / 60),
    Rule("itpm", "input_tokens", "bucket", "input_tokens", "organization", BIG, BIG, BIG / 60),
    Rule("otpm", "output_tokens", "bucket", "output_tokens", "organization", BIG, BIG, BIG / 60),
)
COSTS = Costs(requests=1.0, input_tokens=1_200.0, output_tokens=400.0, units=2_500.0)


def import_limits_library() -> tuple[Any, Any, Any]:
    """The `limits` package (this file's own name would shadow it), its async storage and
    strategies modules."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("limits", None)
    return tuple(
        importlib.import_module(name)
        for name in ("limits", "limits.aio.storage", "limits.aio.strategies")
    )  # type: ignore[return-value]


limits_lib, limits_storage, limits_strategies = import_limits_library()
LIMIT_ITEMS = (  # the same five limits for the `limits` library, with the same costs
    (limits_lib.RateLimitItemPerHour(10**12, 5), 2_500),
    (limits_lib.RateLimitItemPerDay(10**12, 7), 2_500),
    (limits_lib.RateLimitItemPerMinute(10**12), 1),
    (limits_lib.RateLimitItemPerMinute(10**12), 1_200),
    (limits_lib.RateLimitItemPerMinute(10**12), 400),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def own_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed; pass --redis-url or install it")
    port, workdir = free_port(), tempfile.mkdtemp(prefix="fleetgate-bench-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def timed(one: Callable[[int], Awaitable[None]], seconds: float, tasks: int) -> float:
    """Admissions per second: `tasks` concurrent loops calling `one(tenant)` for `seconds`."""
    done = 0
    stop = time.perf_counter() + seconds

    async def loop(worker: int) -> None:
        nonlocal done
        i = worker
        while time.perf_counter() < stop:
            for _ in range(20):
                await one(i % TENANTS)
                i += tasks
            done += 20

    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(tasks)))
    return done / (time.perf_counter() - started)


@dataclass
class Contender:
    """One way of admitting a request: `one(tenant)` checks the five limits once."""

    name: str
    one: Callable[[int], Awaitable[None]]
    rate: float = 0.0


def fleetgate_memory() -> Contender:
    store = AsyncMemoryStore()
    keys = [f"plan:t{i}" for i in range(TENANTS)]
    now = time.time

    async def one(tenant: int) -> None:
        await store.admit(keys[tenant], RULES, COSTS, now())

    return Contender("fleetgate memory://", one)


def server_clock(store: RedisStore) -> Callable[[], Awaitable[float]]:
    """`now` on the store's clock, read from the server when stale (as the gateway's guard)."""
    clock = RedisClock(store)

    async def now() -> float:
        if clock.stale():
            await clock.refresh()
        return clock.now()

    return now


def fleetgate_redis(url: str) -> tuple[Contender, Any]:
    store = open_redis_store(url)
    keys = [f"plan:bench-t{i}" for i in range(TENANTS)]
    now = server_clock(store)

    async def one(tenant: int) -> None:
        decision = await store.admit(keys[tenant], RULES, COSTS, await now())
        if not decision.admitted:
            raise RuntimeError("the benchmark's limits are meant never to refuse")

    return Contender("fleetgate redis://", one), store


def limits_library(uri: str, strategy_name: str) -> Contender:
    if uri.startswith("memory"):
        store: Any = limits_storage.MemoryStorage()
    else:
        store = limits_storage.RedisStorage(
            uri, implementation="redispy", key_prefix=f"LIMITS-{strategy_name}"
        )
    strategy = getattr(limits_strategies, strategy_name)(store)
    keys = [f"t{i}" for i in range(TENANTS)]

    async def one(tenant: int) -> None:
        for number, (item, cost) in enumerate(LIMIT_ITEMS):
            await strategy.hit(item, keys[tenant], str(number), cost=cost)

    where = "memory" if uri.startswith("memory") else "redis"
    return Contender(f"limits {strategy_name.removesuffix('RateLimiter')} ({where})", one)


async def race(contenders: list[Contender], args: argparse.Namespace, tasks: int) -> None:
    """Interleaved rounds (A, B, C, A, B, C, ...) so that a noisy neighbour hurts all alike;
    each contender keeps its best round."""
    for contender in contenders:
        await timed(contender.one, 0.2, tasks)  # connect, load scripts, warm caches
    for _ in range(args.repeat):
        for contender in contenders:
            contender.rate = max(contender.rate, await timed(contender.one, args.seconds, tasks))


def show(contender: Contender, tasks: int) -> None:
    label = f"{contender.name}, {tasks} client{'s' if tasks > 1 else ''}"
    print(f"  {label:<52} {contender.rate:>10,.0f} admissions/s")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def main(args: argparse.Namespace, url: str) -> None:
    print(
        f"five limits per admission (2 plan windows, 3 buckets), {TENANTS} tenants; "
        f"best of {args.repeat} interleaved rounds of ~{args.seconds:g} s; one process, one core"
    )
    memory = [fleetgate_memory(), limits_library("memory://", "FixedWindowRateLimiter")]
    await race(memory, args, 1)
    for contender in memory:
        show(contender, 1)
    lines = [
        f"  memory: fleetgate {memory[0].rate:,.0f}/s = {memory[0].rate / memory[1].rate:.2f}x "
        f"limits FixedWindow (memory); target >= 100,000/s: {verdict(memory[0].rate >= 100_000)}"
    ]
    limits_uri = url.replace("redis://", "async+redis://", 1)
    for tasks in (1, args.concurrency):
        ours, store = fleetgate_redis(url)
        theirs = [
            limits_library(limits_uri, name)
            for name in ("FixedWindowRateLimiter", "SlidingWindowCounterRateLimiter")
        ]
        await race([ours, *theirs], args, tasks)
        await store.close()
        show(ours, tasks)
        for contender in theirs:
            show(contender, tasks)
        fastest = max(theirs, key=lambda c: c.rate)
        ratio = ours.rate / fastest.rate
        lines.append(
            f"  redis, {tasks:>2} client(s): fleetgate = {ratio:.2f}x the fastest limits strategy "
            f"({fastest.name}); target >= 3x: {verdict(ratio >= 3)}"
        )
    print()
    print("\n".join(lines))
    print(f"  redis round trips per fleetgate admission: {await round_trips(url):.2f} (target 1)")


async def round_trips(url: str) -> float:
    """Commands Redis received per fleetgate admission, counted by Redis (INFO commandstats)."""
    store = open_redis_store(url)
    await store.admit("plan:bench-rt", RULES, COSTS, time.time())  # connect and load the script
    stats = redis.Redis.from_url(url)
    stats.config_resetstat()
    now = server_clock(store)  # its first reading is counted
    admissions = 500
    for i in range(admissions):
        await store.admit(f"plan:bench-rt{i % TENANTS}", RULES, COSTS, await now())
    info = stats.info("commandstats")
    stats.close()
    await store.close()
    inside_script = {"cmdstat_hmget", "cmdstat_hset", "cmdstat_pttl", "cmdstat_pexpire"}
    sent = sum(
        int(v["calls"])
        for k, v in info.items()
        if k not in inside_script and not k.startswith(("cmdstat_config", "cmdstat_info"))
    )
    return sent / admissions


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    if args.redis_url:
        asyncio.run(main(args, args.redis_url))
        return
    with own_redis() as url:
        asyncio.run(main(args, url))


if __name__ == "__main__":
    cli()
