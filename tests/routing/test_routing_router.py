"""The router: errors that say why, overload with retry-after, priority shedding, spillover."""

from __future__ import annotations

import random
from typing import Any

import pytest
from routing_helpers import make_router, make_settings, pool, request, site

from fleetgate.errors import NoAllowedPool, NotFound, Overloaded
from fleetgate.routing.config import POLICY_NAMES
from fleetgate.routing.router import RouteDecision, Router
from fleetgate.settings import Settings

TENANTS: list[dict[str, Any]] = [
    {"id": "t1", "plan": "free"},
    {"id": "t2", "tier": "tier-4", "placement": {"deny_owners": ["spacex"]}},
    {"id": "t3", "priority": 7, "placement": {"require_dedicated": True}},
    {"id": "t4", "placement": {"allow_orbital": False, "allow_jurisdictions": ["eu"]}},
]


def _settings(**routing: object) -> Settings:
    return make_settings(
        [
            site("memphis", [pool("colossus", backends=2)], owner="spacex", jurisdiction="us"),
            site(
                "dublin",
                [pool("eu-shared"), pool("eu-t3", dedicated_to=["t3"])],
                jurisdiction="eu",
                location="dublin-ie",
            ),
            site("leo", [pool("sat")], kind="orbital", owner="orbital-co", location="leo-xx"),
        ],
        tenants=TENANTS,
        routing={"priority": {"by_plan": {"free": 0}, "by_tier": {"tier-4": 3}}, **routing},
    )


def _decide(
    router: Router, tenant_id: str | None, settings: Settings | None = None, **kw: object
) -> RouteDecision:
    """`router`'s decision for a request of `tenant_id`, a tenant of `settings` (default: the
    tenants of `_settings`)."""
    tenant = (settings or _settings()).tenant(tenant_id) if tenant_id else None
    exclude = kw.pop("exclude", frozenset())
    return router.decide(request(tenant_id, **kw), tenant, 0.0, random.Random(1), exclude)  # type: ignore[arg-type]


def test_unknown_model_is_not_found() -> None:
    _, router = make_router(_settings())
    with pytest.raises(NotFound, match="no backend serves model 'other'"):
        _decide(router, "t1", model="other")


def test_placement_leaving_nothing_names_policy_and_reasons() -> None:
    settings = make_settings(
        [site("memphis", [pool("colossus")], owner="spacex")],
        tenants=[{"id": "t2", "placement": {"deny_owners": ["SpaceX"]}}],
    )
    _, router = make_router(settings)
    with pytest.raises(NoAllowedPool) as caught:
        _decide(router, "t2", settings)
    message = caught.value.message
    assert "tenant 't2'" in message and "deny_owners=['SpaceX']" in message
    assert "colossus: owner 'spacex' is in deny_owners" in message


def test_placement_is_respected_and_dedicated_pools_are_private() -> None:
    _, router = make_router(_settings())
    for _ in range(50):
        assert _decide(router, "t2").backend.owner != "spacex"
        assert _decide(router, "t3").backend.pool_id == "eu-t3"
        b = _decide(router, "t4").backend
        assert b.jurisdiction == "eu" and not b.orbital and b.pool_id == "eu-shared"
        assert _decide(router, "t1").backend.pool_id != "eu-t3"
        assert _decide(router, None).backend.pool_id != "eu-t3"


def test_unhealthy_allowed_backends_explain_why() -> None:
    fleet, router = make_router(_settings())
    fleet.health.drain("pool", "eu-shared", 0.0)
    with pytest.raises(NoAllowedPool) as caught:
        _decide(router, "t4")
    assert "no healthy backend" in caught.value.message and "1 drained" in caught.value.message
    fleet.health.undrain("pool", "eu-shared", 0.0)
    assert _decide(router, "t4").backend.id == "eu-shared#0"
    with pytest.raises(NoAllowedPool, match="1 already tried by this request"):
        _decide(router, "t4", exclude=frozenset({"eu-shared#0"}))
    fleet.health.trip("eu-shared#0", 0.0, random.Random(1))
    with pytest.raises(NoAllowedPool, match="1 circuit open"):
        _decide(router, "t4")
    fleet.health.reset_breaker("eu-shared#0", 0.0)
    assert _decide(router, "t4").backend.id == "eu-shared#0"


def test_saturation_raises_overloaded_with_retry_after() -> None:
    fleet, router = make_router(_settings(saturation={"max_waiting": 4, "max_retry_after_s": 9}))
    fleet.load.record_metrics("eu-shared#0", waiting=4, running=10, kv_usage=0.2, now=0.0)
    fleet.first_token("eu-shared#0", 3.2, 0.0)
    with pytest.raises(Overloaded) as caught:
        _decide(router, "t4")
    assert caught.value.headers == {"retry-after": "4", "x-should-retry": "true"}
    assert "saturated" in caught.value.message and "retry after 4 s" in caught.value.message


def test_lowest_priority_class_is_shed_first() -> None:
    fleet, router = make_router(_settings(saturation={"max_waiting": 10}))
    for backend in fleet.index.backends:
        fleet.load.record_metrics(backend.id, waiting=9, running=10, kv_usage=0.5, now=0.0)
    t1 = _settings().tenant("t1")
    t2 = _settings().tenant("t2")
    assert router.priority_for(t1) == 0 and router.priority_for(t2) == 3
    assert router.priority_for(_settings().tenant("t3")) == 7
    assert router.priority_for(None) == 1
    with pytest.raises(Overloaded, match="priority 0 sheds at 80%"):
        _decide(router, "t1", priority=0)
    assert _decide(router, "t2", priority=3).backend is not None


def test_dedicated_pools_first_then_spill_to_shared() -> None:
    settings = make_settings(
        [site("s", [pool("shared", backends=3), pool("mine", dedicated_to=["t1"])])],
        tenants=[{"id": "t1"}],
        routing={"saturation": {"max_waiting": 2}},
    )
    fleet, router = make_router(settings)
    decision = _decide(router, "t1", settings)
    assert decision.backend.pool_id == "mine" and decision.tier == "dedicated"
    fleet.load.record_metrics("mine#0", waiting=5, running=1, kv_usage=0.1, now=0.0)
    decision = _decide(router, "t1", settings)
    assert decision.backend.pool_id == "shared" and decision.tier == "shared"


def test_stale_metrics_are_used_only_when_nothing_fresh_is_left() -> None:
    fleet, router = make_router(_settings(probes={"stale_after_s": 5}))
    fleet.load.record_metrics("colossus#0", waiting=0, running=0, kv_usage=0.0, now=-10.0)  # stale
    fleet.load.record_metrics("colossus#1", waiting=3, running=0, kv_usage=0.5, now=0.0)
    fleet.health.drain("site", "dublin", 0.0)
    fleet.health.drain("site", "leo", 0.0)
    for _ in range(20):
        assert _decide(router, "t1").backend.id == "colossus#1"
    fleet.health.drain("backend", "colossus#1", 0.0)
    assert _decide(router, "t1").backend.id == "colossus#0"


def test_failover_excludes_tried_and_prefers_another_site() -> None:
    fleet, router = make_router(_settings(default="least_in_flight"))
    fleet.health.drain("site", "leo", 0.0)
    for _ in range(20):
        decision = _decide(router, "t1", exclude=frozenset({"colossus#0"}))
        assert decision.backend.site_id == "dublin"  # colossus#1 shares the failed site
    fleet.health.drain("site", "dublin", 0.0)
    assert (
        _decide(router, "t1", exclude=frozenset({"colossus#0", "gone"})).backend.id == "colossus#1"
    )


def test_decision_headers_log_and_hook() -> None:
    seen: list[RouteDecision] = []
    settings = _settings(per_model={"m": "round_robin"})
    fleet, _ = make_router(settings)
    router = Router(fleet, on_decision=seen.append)
    decision = _decide(router, "t2")
    assert seen == [decision]
    assert decision.policy == "round_robin"
    assert decision.headers["x-fleetgate-site"] == decision.backend.site_id
    log = decision.as_log()
    assert log["tenant"] == "t2" and log["allowed"] == 2 and log["open"] == 2
    assert (
        router.choose(request("t2"), settings.tenant("t2"), 0.0, random.Random(1)).owner != "spacex"
    )


def test_retry_budget_and_backoff() -> None:
    _, router = make_router(
        _settings(
            retry={
                "budget_share": 0.1,
                "min_retries_per_s": 0.1,
                "backoff_s": 0.1,
                "max_backoff_s": 0.3,
            }
        )
    )
    assert router.max_attempts == 3
    for _ in range(100):
        _decide(router, "t1")
    allowed = sum(router.may_retry(0.5) for _ in range(50))
    assert allowed == 10  # 10 % of 100 first attempts
    assert router.may_retry(60.0)  # the window moved on: the floor allows one
    rng = random.Random(4)
    delays = [router.retry_backoff_s(attempt, rng) for attempt in (1, 2, 3, 4) for _ in range(20)]
    assert all(0.0 <= d <= 0.3 for d in delays) and max(delays[:20]) <= 0.1


def test_each_configured_policy_routes() -> None:
    for name in POLICY_NAMES:
        fleet, router = make_router(_settings(default=name))
        for n in range(30):
            decision = _decide(router, "t2", affinity_key=f"k{n % 3}")
            assert decision.policy == name and decision.backend.owner != "spacex"
            fleet.begin(decision.backend.id, 10, 0.0)
