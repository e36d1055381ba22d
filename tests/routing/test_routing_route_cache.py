"""The router's kept decisions: redone whenever a mask they read changes, never served stale."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_helpers import make_router, make_settings, pool, request, site

from fleetgate.errors import NoAllowedPool, Overloaded
from fleetgate.routing.config import POLICY_NAMES
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import Router
from fleetgate.settings import Settings, settings_from_mapping

RNG = random.Random(0)
names = st.sampled_from


def _settings() -> Settings:
    return make_settings(
        [
            site("memphis", [pool("colossus", backends=2)], owner="spacex", jurisdiction="us"),
            site("dublin", [pool("eu-shared")], jurisdiction="eu", location="dublin-ie"),
        ],
        tenants=[{"id": "t1", "plan": "free"}],
    )


def test_kept_masks_follow_the_fleet_and_the_clock() -> None:
    """Steps 3-5 kept between decisions are redone when a backend's metrics change, go stale
    or (the clock going back) fresh again, and when a backend stops being routable."""
    fleet, router = make_router(_settings())
    fleet.load.record_metrics("colossus#0", waiting=100, running=1, kv_usage=0.1, now=0.0)

    def open_at(now: float) -> int:
        return router.decide(request("t1"), _settings().tenant("t1"), now, random.Random(1)).open

    everyone = open_at(0.0) + 1  # colossus#0 is saturated while its metrics are fresh
    assert open_at(4.0) == everyone - 1
    assert open_at(6.0) == everyone  # stale after 5 s: unknown, never saturated
    assert open_at(4.0) == everyone - 1  # the clock went back: fresh again
    fleet.load.record_metrics("colossus#0", waiting=0, running=1, kv_usage=0.1, now=4.0)
    assert open_at(4.0) == everyone
    fleet.health.drain("backend", "colossus#1", 4.0)
    assert open_at(4.0) == everyone - 1
    fleet.health.undrain("backend", "colossus#1", 4.0)
    for backend in ("colossus#0", "colossus#1"):
        fleet.load.record_metrics(backend, waiting=100, running=1, kv_usage=0.1, now=4.0)
    assert open_at(4.0) == everyone - 2
    fleet.load.record_metrics("colossus#0", waiting=100, running=1, kv_usage=0.1, now=6.0)  # again
    assert open_at(8.0) == everyone - 2  # colossus#0, scraped at 6 s, is fresh until 11 s
    assert open_at(9.5) == everyone - 1  # colossus#1, last scraped at 4 s, is stale
    assert open_at(11.5) == everyone


def _outcome(router: Router, request: RouteRequest, tenant: Any, now: float, seed: int) -> Any:
    try:
        decision = router.decide(request, tenant, now, random.Random(seed))
    except (NoAllowedPool, Overloaded) as exc:
        return type(exc).__name__, exc.message
    return decision.backend.id, decision.tier, decision.routable, decision.open, decision.serving


STEPS = [
    "decide",
    "decide",
    "decide",
    "metrics",
    "renew",
    "renew",
    "probe",
    "drain",
    "trip",
    "begin",
    "finish",
    "time",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=2), min_size=1, max_size=3),
    dedicated=st.booleans(),
    capped=st.booleans(),
    policy=names(POLICY_NAMES),
    steps=st.lists(
        st.tuples(names(STEPS), st.integers(0, 50), st.floats(0, 1)), min_size=20, max_size=80
    ),
)
def test_kept_masks_decide_as_a_fresh_router(
    shape: list[list[int]],
    dedicated: bool,
    capped: bool,
    policy: str,
    steps: list[tuple[str, int, float]],
) -> None:
    """A router that keeps steps 3-5 between decisions decides exactly as one that does not,
    over state changes, metrics going stale, in-flight caps reached and left, and the clock
    moving both ways: no mask a decision reads is served stale."""
    sites = [
        {
            "id": f"s{s}",
            "provider": "aws",
            "owner": "lab",
            "location": "dublin-ie",
            "power_mw": 1,
            "pools": [
                {
                    "id": f"p{s}-{p}",
                    "gpu": "h100",
                    "model": "m",
                    "gpus": 8,
                    "dedicated_to": ["a"] if dedicated and p == 0 else [],
                    "backends": [{"url": f"http://127.0.0.1:{9000 + n}"} for n in range(count)],
                }
                for p, count in enumerate(pools)
            ],
        }
        for s, pools in enumerate(shape)
    ]
    raw = {
        "models": [{"id": "m", "family": "f"}],
        "tenants": [{"id": "a"}, {"id": "b", "placement": {"deny_providers": ["gcp"]}}],
        "routing": {
            "default": policy,
            "saturation": {"max_waiting": 50, "max_in_flight_per_replica": 2 if capped else None},
            "priority": {"saturation_share": {0: 0.5, 2: 0.9}},
        },
        "sites": sites,
    }
    settings_ = settings_from_mapping(raw)
    fleet = Fleet.from_settings(settings_)
    router = Router(fleet)
    now = 100.0
    for kind, number, level in steps:
        backend = fleet.index.backends[number % len(fleet.index.backends)].id
        if kind == "decide":
            tenant = [*settings_.tenants, None][min(int(level * 3), 2)]
            request = RouteRequest(tenant.id if tenant else None, "m", 10, 10, "k", number % 3)
            expected = _outcome(Router(fleet), request, tenant, now, number)
            assert _outcome(router, request, tenant, now, number) == expected
        elif kind == "metrics":
            fleet.load.record_metrics(backend, 100 * level, 1, level, now - 10 * level)
        elif kind == "renew":  # the same figures scraped again now: the stamp moves on
            i = fleet.index.positions[backend]
            waiting, kv = float(fleet.load.waiting[i]), float(fleet.load.kv_usage[i])
            fleet.load.record_metrics(backend, waiting, 1, kv, now)
        elif kind == "probe":
            for _ in range(fleet.routing.probes.unhealthy_after):
                fleet.health.probe_result(backend, level > 0.5, now)
        elif kind == "drain":
            (fleet.health.drain if level > 0.5 else fleet.health.undrain)("backend", backend, now)
        elif kind == "trip":
            fleet.health.trip(backend, now, RNG)
        elif kind == "begin":
            fleet.begin(backend, 100, now)
        elif kind == "finish":
            fleet.finish(backend, ok=level > 0.3, tokens=100, now=now, rng=RNG)
        else:
            now += 20 * level - 8  # forward, sometimes back


def test_reaching_an_in_flight_cap_is_never_served_stale() -> None:
    """The per-replica in-flight cap is a mask like the others: a kept decision sees a backend
    reach it at once, and leave it."""
    fleet, router = make_router(
        make_settings(
            [site("s", [pool("p", backends=2)])],
            routing={"saturation": {"max_in_flight_per_replica": 1}},
        )
    )

    def chosen() -> str:
        return router.decide(request(None), None, 0.0, random.Random(1)).backend.id

    first = chosen()
    fleet.begin(first, 10, 0.0)
    second = chosen()
    assert second != first
    fleet.begin(second, 10, 0.0)
    try:
        chosen()
    except Overloaded:
        pass
    else:
        raise AssertionError("every backend is at its cap")
    fleet.finish(first, ok=True, tokens=10, now=0.0, rng=RNG)
    assert chosen() == first
