"""Benchmark: routing. Part 1, p99 time to first token under skewed load across three engines
of different capacity, a capacity-aware policy vs round robin in the same run, through a real
gateway (target: round robin's p99 >= 2x the capacity-aware policy's; see `routing_ttft.py`).
Part 2, the cost of one routing decision with 1,000 backends (target: <= 50 microseconds).

Builds a fleet of `--backends` backends (10 per pool, 10 pools per site, mixed owners,
jurisdictions, an orbital site, dedicated pools), gives them random load, latency and engine
metrics (some stale, some saturated), and times `Router.decide` for every policy, with the
round-robin policy through the same router as the baseline measured in the same run. Placement
is cached per (tenant, model), as in the gateway; the first decision pays it and is not timed.

    .venv/bin/python bench/routing.py [--backends 1000] [--requests 20000] [--repeats 5]
        [--ttft-seconds 15] [--load 0.7] [--policy least_in_flight] [--skip-ttft]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from fleetgate.routing.config import POLICY_NAMES
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import Router
from fleetgate.settings import Settings, settings_from_mapping
from routing_ttft import report, skewed_load_benchmark

TARGET_US = 50.0
OWNERS = ["spacex", "lab", "neocloud"]
PLACES = ["memphis-us", "dublin-ie", "frankfurt-de", "tokyo-jp"]


def fleet_settings(backends: int, policy: str) -> Settings:
    """A fleet of `backends` backends, ten per pool, ten pools per site."""
    sites: list[dict[str, Any]] = []
    made = 0
    while made < backends:
        s = len(sites)
        pools = []
        for p in range(10):
            count = min(10, backends - made)
            if count <= 0:
                break
            pools.append(
                {
                    "id": f"s{s}-p{p}",
                    "gpu": "h100-sxm",
                    "gpus": 8 * (1 + p % 4),
                    "model": "m",
                    "tensor_parallel": 8,
                    "dedicated_to": ["acme"] if (s, p) == (0, 0) else [],
                    "backends": [
                        {"url": f"http://127.0.0.1:{10000 + made + n}"} for n in range(count)
                    ],
                }
            )
            made += count
        sites.append(
            {
                "id": f"s{s}",
                "provider": f"cloud{s % 3}",
                "owner": OWNERS[s % 3],
                "location": "leo-orbit" if s == 1 else PLACES[s % 4],
                "kind": "orbital" if s == 1 else "terrestrial",
                "power_mw": 10,
                "network_rtt_ms": 40.0 if s == 1 else 2.0 + s,
                "pools": pools,
            }
        )
    return settings_from_mapping(
        {
            "models": [{"id": "m", "family": "sonnet"}],
            "sites": sites,
            "tenants": [{"id": "acme", "placement": {"deny_owners": ["spacex"]}}, {"id": "beta"}],
            "routing": {"default": policy},
        }
    )


def load_fleet(fleet: Fleet, rng: random.Random) -> None:
    """Random in-flight load, latency averages and engine metrics (5 % stale, 5 % saturated)."""
    for backend in fleet.index.backends:
        for _ in range(rng.randrange(20)):
            fleet.begin(backend.id, rng.randrange(100, 5000), 0.0)
        fleet.first_token(backend.id, rng.uniform(0.05, 1.0), 0.0)
        roll = rng.random()
        waiting = 100.0 if roll < 0.05 else rng.uniform(0, 8)
        stamp = -60.0 if roll > 0.95 else 0.0
        fleet.load.record_metrics(
            backend.id, waiting, rng.uniform(0, 64), rng.uniform(0, 0.9), stamp
        )


def time_policy(policy: str, backends: int, requests: int, repeats: int) -> float:
    """Median microseconds per `Router.decide` over `repeats` runs of `requests` decisions."""
    settings = fleet_settings(backends, policy)
    rng = random.Random(42)
    fleet = Fleet.from_settings(settings)
    load_fleet(fleet, rng)
    router = Router(fleet)
    tenants = [settings.tenant("acme"), settings.tenant("beta")]
    work = [
        (RouteRequest(t.id if t else None, "m", 1000, 500, f"session-{n % 97}", 1, True), t)
        for n, t in enumerate(tenants * 50)
    ]
    for item, tenant in work:  # warm the placement cache
        router.decide(item, tenant, 1.0, rng)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for n in range(requests):
            item, tenant = work[n % len(work)]
            router.decide(item, tenant, 1.0, rng)
        samples.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(samples)


def time_bookkeeping(backends: int, requests: int) -> float:
    """Microseconds per begin + first_token + finish (what each request adds to the state)."""
    settings = fleet_settings(backends, "least_in_flight")
    fleet = Fleet.from_settings(settings)
    rng = random.Random(1)
    ids = [b.id for b in fleet.index.backends]
    started = time.perf_counter()
    for n in range(requests):
        backend = ids[n % len(ids)]
        fleet.begin(backend, 1500, 1.0)
        fleet.first_token(backend, 0.2, 1.0)
        fleet.finish(backend, ok=True, tokens=1500, now=1.0, rng=rng, itl_s=0.02)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ttft-seconds", type=float, default=15.0)
    parser.add_argument("--load", type=float, default=0.7, help="share of fleet capacity")
    parser.add_argument("--policy", default="least_in_flight", choices=POLICY_NAMES)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-ttft", action="store_true", help="only the decision cost")
    args = parser.parse_args()
    if args.backends < 1 or args.requests < 1 or args.repeats < 1:
        parser.error("--backends, --requests and --repeats must be positive")
    if args.ttft_seconds <= 0 or not 0 < args.load < 2:
        parser.error("--ttft-seconds must be positive and --load between 0 and 2")
    if not args.skip_ttft:
        aware, baseline = skewed_load_benchmark(
            args.policy, args.load, args.ttft_seconds, args.seed
        )
        print("\n".join(report(aware, baseline, args.load, args.ttft_seconds)))
        print()
    baseline = time_policy("round_robin", args.backends, args.requests, args.repeats)
    print(
        f"routing decision cost, {args.backends} backends, {args.requests} decisions x "
        f"{args.repeats} (median), target <= {TARGET_US:.0f} us"
    )
    print(f"{'policy':<26}{'us/decision':>12}{'vs round_robin':>16}  target")
    for policy in POLICY_NAMES:
        cost = (
            baseline
            if policy == "round_robin"
            else time_policy(policy, args.backends, args.requests, args.repeats)
        )
        verdict = "ok" if cost <= TARGET_US else "OVER"
        print(f"{policy:<26}{cost:>12.1f}{cost / baseline:>15.2f}x  {verdict}")
    print(
        f"{'bookkeeping per request':<26}{time_bookkeeping(args.backends, args.requests):>12.1f}"
        "   (begin + first_token + finish)"
    )


if __name__ == "__main__":
    main()
