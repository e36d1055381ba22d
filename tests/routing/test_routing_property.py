"""Property: over random fleets, placement policies and failures, no request ever lands outside
its tenant's policy, and every refusal is justified (nothing allowed, healthy and free was left)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetgate.errors import NoAllowedPool, NotFound, Overloaded
from fleetgate.routing.config import POLICY_NAMES
from fleetgate.routing.fleet import FleetState
from fleetgate.routing.placement import OPEN_POLICY, allowed
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import Router
from fleetgate.settings import settings_from_mapping

PROVIDERS = ["aws", "gcp", "spacex", "oci"]
OWNERS = ["spacex", "lab", "neocloud"]
PLACES = ["memphis-us", "dublin-ie", "frankfurt-de", "leo-orbit"]
TENANTS = ["a", "b", "c"]

names = st.sampled_from


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    sites = []
    pool_count = 0
    for s in range(draw(st.integers(1, 4))):
        pools = []
        for _ in range(draw(st.integers(0, 3))):
            pools.append({
                "id": f"p{pool_count}", "gpu": "h100", "model": "m",
                "gpus": draw(st.integers(1, 64)), "tensor_parallel": draw(st.sampled_from([1, 8])),
                "dedicated_to": draw(st.lists(names(TENANTS), max_size=2, unique=True)),
                "backends": [{"url": f"http://127.0.0.1:{9000 + n}"}
                             for n in range(draw(st.integers(1, 3)))],
            })  # fmt: skip
            pool_count += 1
        sites.append({
            "id": f"s{s}", "provider": draw(names(PROVIDERS)), "owner": draw(names(OWNERS)),
            "location": draw(names(PLACES)), "kind": draw(names(["terrestrial", "orbital"])),
            "power_mw": 1, "network_rtt_ms": draw(st.floats(0, 600)), "pools": pools,
        })  # fmt: skip
    return {"sites": sites}


@st.composite
def placements(draw: st.DrawFn) -> dict[str, Any]:
    jurisdictions = ["us", "ie", "de", "orbit"]
    return {
        "allow_providers": draw(st.lists(names(PROVIDERS), max_size=2, unique=True)),
        "deny_providers": draw(st.lists(names(PROVIDERS), max_size=1, unique=True)),
        "allow_owners": draw(st.lists(names(OWNERS), max_size=2, unique=True)),
        "deny_owners": draw(st.lists(names(OWNERS), max_size=1, unique=True)),
        "allow_jurisdictions": draw(st.lists(names(jurisdictions), max_size=2, unique=True)),
        "deny_jurisdictions": draw(st.lists(names(jurisdictions), max_size=1, unique=True)),
        "allow_orbital": draw(st.booleans()),
        "require_dedicated": draw(st.booleans()),
    }


@st.composite
def failures(draw: st.DrawFn, backends: int) -> list[tuple[str, int, float]]:
    kinds = names(["drain", "trip", "probe_down", "saturate", "stale", "busy", "exclude"])
    return draw(st.lists(st.tuples(kinds, st.integers(0, max(backends - 1, 0)),
                                   st.floats(0, 1)), max_size=12))  # fmt: skip


def _apply(fleet: FleetState, events: list[tuple[str, int, float]]) -> set[str]:
    excluded: set[str] = set()
    for kind, position, level in events:
        if not fleet.backends:
            break
        backend = fleet.backends[position % len(fleet.backends)].id
        if kind == "drain":
            fleet.drain("backend", backend, 0.0)
        elif kind == "trip":
            fleet.trip(backend, 0.0)
        elif kind == "probe_down":
            for _ in range(fleet.routing.probes.unhealthy_after):
                fleet.probe_result(backend, False, 0.0)
        elif kind == "saturate":
            fleet.record_metrics(backend, waiting=100 * level, running=1, kv_usage=level, now=0.0)
        elif kind == "stale":
            fleet.record_metrics(backend, waiting=0, running=0, kv_usage=0, now=-100.0)
        elif kind == "busy":
            fleet.begin(backend, int(level * 10_000), 0.0)
        else:
            excluded.add(backend)
    return excluded


def _where(
    fleet_data: dict[str, Any], site_id: str, pool_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    site = next(x for x in fleet_data["sites"] if x["id"] == site_id)
    return site, next(x for x in site["pools"] if x["id"] == pool_id)


def _oracle(placement: dict[str, Any], site: dict[str, Any], pool: dict[str, Any],
            tenant_id: str | None) -> bool:  # fmt: skip
    """The tenant policy, re-stated independently of fleetgate.routing.placement."""
    region = site["location"].rsplit("-", 1)[-1]
    checks = [
        not pool["dedicated_to"] or tenant_id in pool["dedicated_to"],
        not placement.get("require_dedicated") or bool(pool["dedicated_to"]),
        placement.get("allow_orbital", True) or site["kind"] != "orbital",
    ]
    for key, value in (("providers", site["provider"]), ("owners", site["owner"]),
                       ("jurisdictions", region)):  # fmt: skip
        allow, deny = placement.get(f"allow_{key}", []), placement.get(f"deny_{key}", [])
        checks += [not allow or value in allow, value not in deny]
    return all(checks)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fleet_data=fleets(), policy=names(POLICY_NAMES))
def test_no_request_lands_outside_its_tenants_policy(
    data: st.DataObject, fleet_data: dict[str, Any], policy: str
) -> None:
    tenants: list[dict[str, Any]] = [
        {"id": t, "placement": data.draw(placements())} for t in TENANTS
    ]
    raw = {
        "models": [{"id": "m", "family": "f"}],
        "tenants": tenants,
        "routing": {"default": policy, "saturation": {"max_waiting": 50}},
        **fleet_data,
    }
    settings_ = settings_from_mapping(raw)
    fleet = FleetState.from_settings(settings_, random.Random(0))
    router = Router(settings_, fleet)
    excluded = _apply(fleet, data.draw(failures(len(fleet.backends))))
    rng = random.Random(data.draw(st.integers(0, 1000)))
    for tenant in [*settings_.tenants, None]:
        tenant_id = tenant.id if tenant else None
        placement = tenant.placement if tenant else OPEN_POLICY
        priority = data.draw(st.integers(0, 2))
        request = RouteRequest(tenant_id, "m", 10, 10, data.draw(st.one_of(st.none(), st.text())),
                               priority, False)  # fmt: skip
        raw_policy: dict[str, Any] = next(
            (t["placement"] for t in tenants if t["id"] == tenant_id), {}
        )
        allowed_ids = {
            b.id for b in fleet.backends
            if _oracle(raw_policy, *_where(fleet_data, b.site_id, b.pool_id), tenant_id)
        }  # fmt: skip
        idx = np.arange(len(fleet.backends), dtype=np.int64)
        share = settings_.routing.priority.saturation_share.get(priority, 1.0)
        saturated = fleet.saturated(idx, 0.0, share)
        healthy = {b.id for i, b in enumerate(fleet.backends)
                   if fleet.routable[i] and b.id not in excluded}  # fmt: skip
        free = {b.id for i, b in enumerate(fleet.backends) if not saturated[i]}
        try:
            backend = router.choose(request, tenant, 0.0, rng, frozenset(excluded))
        except NotFound:
            assert not fleet.backends
            continue
        except NoAllowedPool:
            assert not (allowed_ids & healthy)
            continue
        except Overloaded as exc:
            assert allowed_ids & healthy and not (allowed_ids & healthy & free)
            assert int(exc.headers["retry-after"]) >= 1
            continue
        assert allowed(placement, backend, tenant_id)
        assert _oracle(raw_policy, *_where(fleet_data, backend.site_id, backend.pool_id), tenant_id)
        assert backend.id in allowed_ids & healthy & free
        if tenant is not None and tenant.placement.require_dedicated:
            assert tenant_id in backend.dedicated_to
        if backend.dedicated_to:
            assert tenant_id in backend.dedicated_to
        fleet.begin(backend.id, 20, 0.0)


def _outcome(router: Router, request: RouteRequest, tenant: Any, now: float, seed: int) -> Any:
    try:
        decision = router.decide(request, tenant, now, random.Random(seed))
    except (NoAllowedPool, Overloaded) as exc:
        return type(exc).__name__, exc.message
    return decision.backend.id, decision.tier, decision.routable, decision.open, decision.serving


STEPS = ["decide", "decide", "decide", "metrics", "renew", "renew", "probe", "drain", "trip",
         "begin", "finish", "time"]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=2), min_size=1, max_size=3),
    dedicated=st.booleans(),
    policy=names(POLICY_NAMES),
    steps=st.lists(
        st.tuples(names(STEPS), st.integers(0, 50), st.floats(0, 1)), min_size=20, max_size=80
    ),
)
def test_kept_masks_decide_as_a_fresh_router(
    shape: list[list[int]], dedicated: bool, policy: str, steps: list[tuple[str, int, float]]
) -> None:
    """A router that keeps steps 3-5 between decisions decides exactly as one that does not,
    over state changes, metrics going stale, and the clock moving both ways."""
    sites = [
        {"id": f"s{s}", "provider": "aws", "owner": "lab", "location": "dublin-ie",
         "power_mw": 1, "pools": [
             {"id": f"p{s}-{p}", "gpu": "h100", "model": "m", "gpus": 8,
              "dedicated_to": ["a"] if dedicated and p == 0 else [],
              "backends": [{"url": f"http://127.0.0.1:{9000 + n}"} for n in range(count)]}
             for p, count in enumerate(pools)]}
        for s, pools in enumerate(shape)
    ]  # fmt: skip
    raw = {
        "models": [{"id": "m", "family": "f"}],
        "tenants": [{"id": "a"}, {"id": "b", "placement": {"deny_providers": ["gcp"]}}],
        "routing": {"default": policy, "saturation": {"max_waiting": 50},
                    "priority": {"saturation_share": {0: 0.5, 2: 0.9}}},
        "sites": sites,
    }  # fmt: skip
    settings_ = settings_from_mapping(raw)
    fleet = FleetState.from_settings(settings_, random.Random(0))
    router = Router(settings_, fleet)
    now = 100.0
    for kind, number, level in steps:
        backend = fleet.backends[number % len(fleet.backends)].id
        if kind == "decide":
            tenant = [*settings_.tenants, None][min(int(level * 3), 2)]
            request = RouteRequest(tenant.id if tenant else None, "m", 10, 10, "k", number % 3)
            expected = _outcome(Router(settings_, fleet), request, tenant, now, number)
            assert _outcome(router, request, tenant, now, number) == expected
        elif kind == "metrics":
            fleet.record_metrics(backend, 100 * level, 1, level, now - 10 * level)
        elif kind == "renew":  # the same figures scraped again now: the stamp moves on
            i = fleet.index[backend]
            waiting, kv = float(fleet.waiting[i]), float(fleet.kv_usage[i])
            fleet.record_metrics(backend, waiting, 1, kv, now)
        elif kind == "probe":
            for _ in range(fleet.routing.probes.unhealthy_after):
                fleet.probe_result(backend, level > 0.5, now)
        elif kind == "drain":
            (fleet.drain if level > 0.5 else fleet.undrain)("backend", backend, now)
        elif kind == "trip":
            fleet.trip(backend, now)
        elif kind == "begin":
            fleet.begin(backend, 100, now)
        elif kind == "finish":
            fleet.finish(backend, ok=level > 0.3, tokens=100, now=now)
        else:
            now += 20 * level - 8  # forward, sometimes back
