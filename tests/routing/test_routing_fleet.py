"""Live fleet state: backends from settings, load accounting, latency, metrics, drains."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from routing_helpers import make_settings, pool, site

from fleetgate.errors import ConfigurationError, NotFound
from fleetgate.routing.fleet import FleetState


def _fleet(**sections: object) -> FleetState:
    settings = make_settings(
        [
            site("ground", [pool("p1", backends=2, gpus=16, tp=8), pool("p2", gpus=64)],
                 jurisdiction="us", network_rtt_ms=2),
            site("orbit", [pool("p3", dedicated_to=["t1"])], kind="orbital",
                 provider="orbital-co", owner="spacex", location="leo-xx", network_rtt_ms=40),
        ],
        tenants=[{"id": "t1"}],
        **sections,
    )  # fmt: skip
    return FleetState.from_settings(settings, random.Random(3))


def test_backends_from_settings() -> None:
    fleet = _fleet()
    ids = [b.id for b in fleet.backends]
    assert ids == ["p1#0", "p1#1", "p2#0", "p3#0"]
    p1 = fleet.backend("p1#1")
    assert p1.capacity_weight == 1.0  # 16 GPUs / TP 8 = 2 replicas over 2 backends
    assert fleet.backend("p2#0").capacity_weight == 8.0
    orbital = fleet.backend("p3#0")
    assert orbital.orbital and orbital.network_rtt_s == pytest.approx(0.04)
    assert orbital.dedicated_to == frozenset({"t1"})
    assert orbital.jurisdiction == "xx"  # from the location's suffix
    assert fleet.backend("p1#0").jurisdiction == "us"
    assert [b.id for b in fleet.backends_for_model("m")] == ids
    assert len(fleet.backends_for_model("nope")) == 0
    with pytest.raises(NotFound, match="no backend 'x'"):
        fleet.backend("x")


def test_duplicate_backend_ids_name_the_key_path() -> None:
    p = pool("p1", backends=2)
    p["backends"] = [
        {"url": "http://127.0.0.1:1", "id": "b"},
        {"url": "http://127.0.0.1:2", "id": "b"},
    ]
    with pytest.raises(ConfigurationError, match=r"sites\[0\]\.pools\[0\]\.backends\[1\]\.id"):
        FleetState.from_settings(make_settings([site("s", [p])]))


def test_direct_construction_refuses_duplicate_ids() -> None:
    backend = _fleet().backends[0]
    with pytest.raises(ConfigurationError, match="unique"):
        FleetState([backend, backend])


def test_given_capacity_weight_wins() -> None:
    p = pool("p1")
    p["backends"] = [{"url": "http://127.0.0.1:1", "capacity_weight": 2.5}]
    fleet = FleetState.from_settings(make_settings([site("s", [p])]))
    assert fleet.backends[0].capacity_weight == 2.5


def test_begin_finish_accounting_never_goes_negative() -> None:
    fleet = _fleet()
    fleet.begin("p1#0", 300, 0.0)
    fleet.begin("p1#0", 200, 0.0)
    i = fleet.index["p1#0"]
    assert (fleet.in_flight[i], fleet.outstanding_tokens[i]) == (2, 500)
    fleet.finish("p1#0", ok=True, tokens=300, now=1.0)
    assert (fleet.in_flight[i], fleet.outstanding_tokens[i]) == (1, 200)
    fleet.finish("p1#0", ok=True, tokens=9999, now=1.0)
    fleet.finish("p1#0", ok=True, tokens=10, now=1.0)
    assert (fleet.in_flight[i], fleet.outstanding_tokens[i]) == (0, 0)
    assert fleet.requests_started == 2


def test_outstanding_tokens_self_heal_when_idle() -> None:
    fleet = _fleet()
    fleet.begin("p2#0", 1000, 0.0)
    fleet.finish("p2#0", ok=True, tokens=0, now=1.0)  # a caller that forgot the count
    assert fleet.outstanding_tokens[fleet.index["p2#0"]] == 0


def test_ewma_latency_and_staleness() -> None:
    fleet = _fleet(routing={"ewma_alpha": 0.5, "latency_stale_after_s": 60})
    i = fleet.index["p1#0"]
    fleet.first_token("p1#0", 1.0, 0.0)
    fleet.first_token("p1#0", 3.0, 1.0)
    assert fleet.ttft_s[i] == pytest.approx(2.0)
    fleet.first_token("p1#0", 10.0, 100.0)  # the old average went stale: restart from the sample
    assert fleet.ttft_s[i] == pytest.approx(10.0)
    fleet.first_token("p1#0", math.nan, 101.0)
    fleet.first_token("p1#0", -1.0, 101.0)
    assert fleet.ttft_s[i] == pytest.approx(10.0)
    fleet.begin("p1#0", 1, 101.0)
    fleet.finish("p1#0", ok=True, tokens=1, now=102.0, itl_s=0.02)
    assert fleet.itl_s[i] == pytest.approx(0.02)


def test_latency_estimates_fill_unknown_with_peer_median() -> None:
    fleet = _fleet(routing={"latency_prior_ttft_s": 0.7, "latency_stale_after_s": 60})
    idx = fleet.backends_for_model("m").indices
    ttft, itl = fleet.latency_estimates(idx, 0.0)
    assert list(ttft) == [0.7] * 4 and itl[0] == pytest.approx(0.03)
    fleet.first_token("p1#0", 1.0, 0.0)
    fleet.first_token("p1#1", 3.0, 0.0)
    ttft, _ = fleet.latency_estimates(idx, 10.0)
    assert list(ttft) == [1.0, 3.0, 2.0, 2.0]
    ttft, _ = fleet.latency_estimates(idx, 100.0)  # all stale again: unknown, the prior
    assert list(ttft) == [0.7] * 4


def test_metrics_staleness_is_unknown_not_idle_nor_saturated() -> None:
    fleet = _fleet(routing={"probes": {"stale_after_s": 5}, "saturation": {"max_waiting": 4}})
    idx = fleet.backends_for_model("m").indices
    fleet.record_metrics("p1#0", waiting=10, running=3, kv_usage=0.5, now=0.0)
    fleet.record_metrics("p1#1", waiting=0, running=3, kv_usage=1.7, now=0.0)
    assert list(fleet.saturated(idx, 1.0)) == [True, True, False, False]
    assert list(fleet.metrics_stale(idx, 1.0)) == [False] * 4
    assert list(fleet.saturated(idx, 10.0)) == [False] * 4
    assert list(fleet.metrics_stale(idx, 10.0)) == [True, True, False, False]
    assert fleet.kv_usage[fleet.index["p1#1"]] == 1.0


def test_priority_share_and_in_flight_cap() -> None:
    fleet = _fleet(routing={"saturation": {"max_waiting": 10, "max_in_flight_per_replica": 2}})
    idx = fleet.backends_for_model("m").indices
    fleet.record_metrics("p2#0", waiting=8, running=0, kv_usage=0.1, now=0.0)
    assert not fleet.saturated(idx, 0.0)[2]
    assert fleet.saturated(idx, 0.0, share=0.8)[2]
    fleet.begin("p1#0", 1, 0.0)
    assert not fleet.saturated(idx, 0.0)[0]
    fleet.begin("p1#0", 1, 0.0)
    assert fleet.saturated(idx, 0.0)[0]  # 2 in flight on 1 replica


def test_drain_and_undrain_by_scope_let_in_flight_finish() -> None:
    fleet = _fleet()
    fleet.begin("p1#0", 10, 0.0)
    assert fleet.drain("site", "ground", 0.0) == ["p1#0", "p1#1", "p2#0"]
    assert not fleet.routable[fleet.index["p1#0"]]
    rows = {row["id"]: row for row in fleet.snapshot(0.0)["backends"]}
    assert rows["p1#0"]["drain"] == "draining" and rows["p1#1"]["drain"] == "drained"
    fleet.finish("p1#0", ok=True, tokens=10, now=1.0)
    assert fleet.snapshot(1.0)["backends"][0]["drain"] == "drained"
    assert fleet.undrain("pool", "p1", 2.0) == ["p1#0", "p1#1"]
    assert list(fleet.routable) == [True, True, False, True]
    assert fleet.undrain("backend", "p2#0", 2.0) == ["p2#0"]
    with pytest.raises(NotFound, match="no pool 'zz'"):
        fleet.drain("pool", "zz", 0.0)
    with pytest.raises(NotFound, match="expected backend, pool or site"):
        fleet.drain("region", "x", 0.0)  # type: ignore[arg-type]


def test_probe_thresholds_avoid_flapping() -> None:
    fleet = _fleet(routing={"probes": {"unhealthy_after": 2, "healthy_after": 2}})
    i = fleet.index["p2#0"]
    fleet.probe_result("p2#0", False, 0.0)
    assert fleet.routable[i]
    fleet.probe_result("p2#0", False, 1.0)
    assert not fleet.routable[i]
    fleet.probe_result("p2#0", True, 2.0)
    assert not fleet.routable[i]
    fleet.probe_result("p2#0", True, 3.0)
    assert fleet.routable[i]


def test_breaker_feeds_routable_and_refresh_half_opens() -> None:
    fleet = _fleet(routing={"breaker": {"consecutive_failures": 2, "open_s": 10, "jitter": 0}})
    i = fleet.index["p1#1"]
    for _ in range(2):
        fleet.begin("p1#1", 1, 0.0)
        fleet.finish("p1#1", ok=False, tokens=1, now=0.0)
    assert not fleet.routable[i]
    fleet.refresh(5.0)
    assert not fleet.routable[i]
    fleet.refresh(10.0)
    assert fleet.routable[i]  # half-open: one trial
    fleet.begin("p1#1", 1, 10.0)
    assert not fleet.routable[i]
    fleet.finish("p1#1", ok=True, tokens=1, now=11.0)
    assert fleet.routable[i] and fleet.breakers[i].state == "closed"


def test_abandoned_request_does_not_judge_backend() -> None:
    fleet = _fleet(routing={"breaker": {"consecutive_failures": 1}})
    fleet.begin("p2#0", 1, 0.0)
    fleet.finish("p2#0", ok=False, tokens=1, now=0.0, record_outcome=False)
    assert fleet.breakers[fleet.index["p2#0"]].state == "closed"
    assert fleet.availability.report(0.0) == []


def test_detect_outliers_trips_the_laggard() -> None:
    fleet = _fleet(routing={"outliers": {"min_requests": 20, "stdev_factor": 1.0}})
    for n in range(40):
        for backend in ("p1#0", "p1#1", "p2#0", "p3#0"):
            ok = backend != "p1#1" or n % 2 == 0
            fleet.begin(backend, 1, float(n))
            fleet.finish(backend, ok=ok, tokens=1, now=float(n), record_outcome=True)
    # a 50 % error rate on p1#1 also opens its own breaker (min_requests 20 reached)
    fleet.reset_breaker("p1#1", 40.0)
    assert fleet.detect_outliers(41.0) == ["p1#1"]
    assert fleet.breakers[fleet.index["p1#1"]].last_reason.startswith("outlier")
    assert not fleet.routable[fleet.index["p1#1"]]


def test_snapshot_is_json_ready() -> None:
    import json

    fleet = _fleet()
    fleet.begin("p1#0", 5, 0.0)
    fleet.finish("p1#0", ok=True, tokens=5, now=0.5)
    snap = fleet.snapshot(1.0)
    text = json.dumps(snap, allow_nan=False)
    assert '"p1#0"' in text
    assert snap["backends"][0]["metrics"]["age_s"] is None
    assert {row["scope"] for row in snap["availability"]} == {"backend", "pool", "site"}


def test_indices_of_plain_sequence_matches_candidates() -> None:
    fleet = _fleet()
    cands = fleet.backends_for_model("m")
    assert np.array_equal(fleet.indices_of(list(cands)), cands.indices)
    assert [b.id for b in cands[1:3]] == ["p1#1", "p2#0"]
    assert "p3#0" in repr(cands)
