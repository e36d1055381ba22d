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
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.placement import OPEN_POLICY, allowed
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import Router
from fleetgate.settings import settings_from_mapping

PROVIDERS = ["aws", "gcp", "spacex", "oci"]
OWNERS = ["spacex", "lab", "neocloud"]
PLACES = ["memphis-us", "dublin-ie", "frankfurt-de", "leo-orbit"]
TENANTS = ["a", "b", "c"]
RNG = random.Random(0)

names = st.sampled_from


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    sites = []
    pool_count = 0
    for s in range(draw(st.integers(1, 4))):
        pools = []
        for _ in range(draw(st.integers(0, 3))):
            pools.append(
                {
                    "id": f"p{pool_count}",
                    "gpu": "h100",
                    "model": "m",
                    "gpus": draw(st.integers(1, 64)),
                    "tensor_parallel": draw(st.sampled_from([1, 8])),
                    "dedicated_to": draw(st.lists(names(TENANTS), max_size=2, unique=True)),
                    "backends": [
                        {"url": f"http://127.0.0.1:{9000 + n}"}
                        for n in range(draw(st.integers(1, 3)))
                    ],
                }
            )
            pool_count += 1
        sites.append(
            {
                "id": f"s{s}",
                "provider": draw(names(PROVIDERS)),
                "owner": draw(names(OWNERS)),
                "location": draw(names(PLACES)),
                "kind": draw(names(["terrestrial", "orbital"])),
                "power_mw": 1,
                "network_rtt_ms": draw(st.floats(0, 600)),
                "pools": pools,
            }
        )
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
    return draw(
        st.lists(
            st.tuples(kinds, st.integers(0, max(backends - 1, 0)), st.floats(0, 1)), max_size=12
        )
    )


def _apply(fleet: Fleet, events: list[tuple[str, int, float]]) -> set[str]:
    excluded: set[str] = set()
    for kind, position, level in events:
        if not fleet.index.backends:
            break
        backend = fleet.index.backends[position % len(fleet.index.backends)].id
        if kind == "drain":
            fleet.health.drain("backend", backend, 0.0)
        elif kind == "trip":
            fleet.health.trip(backend, 0.0, RNG)
        elif kind == "probe_down":
            for _ in range(fleet.routing.probes.unhealthy_after):
                fleet.health.probe_result(backend, False, 0.0)
        elif kind == "saturate":
            fleet.load.record_metrics(
                backend, waiting=100 * level, running=1, kv_usage=level, now=0.0
            )
        elif kind == "stale":
            fleet.load.record_metrics(backend, waiting=0, running=0, kv_usage=0, now=-100.0)
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


def _oracle(
    placement: dict[str, Any], site: dict[str, Any], pool: dict[str, Any], tenant_id: str | None
) -> bool:
    """The tenant policy, re-stated independently of fleetgate.routing.placement."""
    region = site["location"].rsplit("-", 1)[-1]
    checks = [
        not pool["dedicated_to"] or tenant_id in pool["dedicated_to"],
        not placement.get("require_dedicated") or bool(pool["dedicated_to"]),
        placement.get("allow_orbital", True) or site["kind"] != "orbital",
    ]
    for key, value in (
        ("providers", site["provider"]),
        ("owners", site["owner"]),
        ("jurisdictions", region),
    ):
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
    fleet = Fleet.from_settings(settings_)
    router = Router(fleet)
    excluded = _apply(fleet, data.draw(failures(len(fleet.index.backends))))
    rng = random.Random(data.draw(st.integers(0, 1000)))
    for tenant in [*settings_.tenants, None]:
        tenant_id = tenant.id if tenant else None
        placement = tenant.placement if tenant else OPEN_POLICY
        priority = data.draw(st.integers(0, 2))
        request = RouteRequest(
            tenant_id, "m", 10, 10, data.draw(st.one_of(st.none(), st.text())), priority, False
        )
        raw_policy: dict[str, Any] = next(
            (t["placement"] for t in tenants if t["id"] == tenant_id), {}
        )
        allowed_ids = {
            b.id
            for b in fleet.index.backends
            if _oracle(raw_policy, *_where(fleet_data, b.site_id, b.pool_id), tenant_id)
        }
        idx = np.arange(len(fleet.index.backends), dtype=np.int64)
        share = settings_.routing.priority.saturation_share.get(priority, 1.0)
        saturated = fleet.load.saturated(idx, 0.0, share)
        healthy = {
            b.id
            for i, b in enumerate(fleet.index.backends)
            if fleet.health.routable[i] and b.id not in excluded
        }
        free = {b.id for i, b in enumerate(fleet.index.backends) if not saturated[i]}
        try:
            backend = router.choose(request, tenant, 0.0, rng, frozenset(excluded))
        except NotFound:
            assert not fleet.index.backends
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
