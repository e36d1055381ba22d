"""The health of a fleet: drains, probe verdicts, breakers feeding the routable mask, outlier
ejection."""

from __future__ import annotations

import random

import pytest
from routing_helpers import two_site_fleet

from fleetgate.errors import NotFound
from fleetgate.routing.config import OutlierSettings
from fleetgate.routing.health import find_outliers
from fleetgate.routing.snapshot import fleet_snapshot

RNG = random.Random(3)


def test_drain_and_undrain_by_scope_let_in_flight_finish() -> None:
    fleet = two_site_fleet()
    fleet.begin("p1#0", 10, 0.0)
    assert fleet.health.drain("site", "ground", 0.0) == ["p1#0", "p1#1", "p2#0"]
    assert not fleet.health.routable[fleet.index.positions["p1#0"]]
    rows = {row["id"]: row for row in fleet_snapshot(fleet, 0.0)["backends"]}
    assert rows["p1#0"]["drain"] == "draining" and rows["p1#1"]["drain"] == "drained"
    fleet.finish("p1#0", ok=True, tokens=10, now=1.0, rng=RNG)
    assert fleet_snapshot(fleet, 1.0)["backends"][0]["drain"] == "drained"
    assert fleet.health.undrain("pool", "p1", 2.0) == ["p1#0", "p1#1"]
    assert list(fleet.health.routable) == [True, True, False, True]
    assert fleet.health.undrain("backend", "p2#0", 2.0) == ["p2#0"]
    with pytest.raises(NotFound, match="no pool 'zz'"):
        fleet.health.drain("pool", "zz", 0.0)
    with pytest.raises(NotFound, match="expected backend, pool or site"):
        fleet.health.drain("region", "x", 0.0)  # type: ignore[arg-type]


def test_probe_thresholds_avoid_flapping() -> None:
    fleet = two_site_fleet(routing={"probes": {"unhealthy_after": 2, "healthy_after": 2}})
    i = fleet.index.positions["p2#0"]
    fleet.health.probe_result("p2#0", False, 0.0)
    assert fleet.health.routable[i]
    fleet.health.probe_result("p2#0", False, 1.0)
    assert not fleet.health.routable[i]
    fleet.health.probe_result("p2#0", True, 2.0)
    assert not fleet.health.routable[i]
    fleet.health.probe_result("p2#0", True, 3.0)
    assert fleet.health.routable[i]


def test_breaker_feeds_routable_and_refresh_half_opens() -> None:
    fleet = two_site_fleet(
        routing={"breaker": {"consecutive_failures": 2, "open_s": 10, "jitter": 0}}
    )
    i = fleet.index.positions["p1#1"]
    for _ in range(2):
        fleet.begin("p1#1", 1, 0.0)
        fleet.finish("p1#1", ok=False, tokens=1, now=0.0, rng=RNG)
    assert not fleet.health.routable[i]
    fleet.refresh(5.0)
    assert not fleet.health.routable[i]
    fleet.refresh(10.0)
    assert fleet.health.routable[i]  # half-open: one trial
    fleet.begin("p1#1", 1, 10.0)
    assert not fleet.health.routable[i]
    fleet.finish("p1#1", ok=True, tokens=1, now=11.0, rng=RNG)
    assert fleet.health.routable[i] and fleet.health.breakers[i].state == "closed"


def test_abandoned_request_does_not_judge_backend() -> None:
    fleet = two_site_fleet(routing={"breaker": {"consecutive_failures": 1}})
    fleet.begin("p2#0", 1, 0.0)
    fleet.finish("p2#0", ok=False, tokens=1, now=0.0, rng=RNG, record_outcome=False)
    assert fleet.health.breakers[fleet.index.positions["p2#0"]].state == "closed"
    assert fleet.health.availability.report(0.0) == []


def test_detect_outliers_trips_the_laggard() -> None:
    fleet = two_site_fleet(routing={"outliers": {"min_requests": 20, "stdev_factor": 1.0}})
    for n in range(40):
        for backend in ("p1#0", "p1#1", "p2#0", "p3#0"):
            ok = backend != "p1#1" or n % 2 == 0
            fleet.begin(backend, 1, float(n))
            fleet.finish(backend, ok=ok, tokens=1, now=float(n), rng=RNG, record_outcome=True)
    # a 50 % error rate on p1#1 also opens its own breaker (min_requests 20 reached)
    fleet.health.reset_breaker("p1#1", 40.0)
    assert fleet.health.detect_outliers(41.0, RNG) == ["p1#1"]
    assert fleet.health.breakers[fleet.index.positions["p1#1"]].last_reason.startswith("outlier")
    assert not fleet.health.routable[fleet.index.positions["p1#1"]]


def test_find_outliers_ejects_the_clear_laggard_only() -> None:
    settings = OutlierSettings(min_requests=50, stdev_factor=1.0, min_gap=0.05)
    counts = [(99, 100), (98, 100), (100, 100), (60, 100), (10, 10)]
    assert find_outliers(counts, 0, settings) == [3]


def test_find_outliers_respects_the_ejection_cap_and_needs_peers() -> None:
    settings = OutlierSettings(min_requests=10, stdev_factor=0.1, max_ejected_share=0.5)
    counts = [(100, 100), (100, 100), (50, 100), (40, 100)]
    assert find_outliers(counts, 0, settings) == [3, 2]
    assert find_outliers(counts, 1, settings) == [3]
    assert find_outliers(counts, 2, settings) == []
    assert find_outliers([(10, 100), (100, 100)], 0, settings) == []
    assert find_outliers(counts, 0, OutlierSettings(enabled=False)) == []


def test_uniform_small_differences_are_not_outliers() -> None:
    counts = [(999, 1000), (998, 1000), (1000, 1000), (997, 1000)]
    assert find_outliers(counts, 0, OutlierSettings()) == []
