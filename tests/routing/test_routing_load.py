"""The load of a fleet: in flight, outstanding tokens, latency averages, engine metrics, masks."""

from __future__ import annotations

import math
import random

import pytest
from routing_helpers import two_site_fleet

RNG = random.Random(3)


def test_begin_finish_accounting_never_goes_negative() -> None:
    fleet = two_site_fleet()
    fleet.begin("p1#0", 300, 0.0)
    fleet.begin("p1#0", 200, 0.0)
    i = fleet.index.positions["p1#0"]
    assert (fleet.load.in_flight[i], fleet.load.outstanding_tokens[i]) == (2, 500)
    fleet.finish("p1#0", ok=True, tokens=300, now=1.0, rng=RNG)
    assert (fleet.load.in_flight[i], fleet.load.outstanding_tokens[i]) == (1, 200)
    fleet.finish("p1#0", ok=True, tokens=9999, now=1.0, rng=RNG)
    fleet.finish("p1#0", ok=True, tokens=10, now=1.0, rng=RNG)
    assert (fleet.load.in_flight[i], fleet.load.outstanding_tokens[i]) == (0, 0)
    assert fleet.load.requests_started == 2


def test_outstanding_tokens_self_heal_when_idle() -> None:
    fleet = two_site_fleet()
    fleet.begin("p2#0", 1000, 0.0)
    fleet.finish("p2#0", ok=True, tokens=0, now=1.0, rng=RNG)  # a caller that forgot the count
    assert fleet.load.outstanding_tokens[fleet.index.positions["p2#0"]] == 0


def test_ewma_latency_and_staleness() -> None:
    fleet = two_site_fleet(routing={"ewma_alpha": 0.5, "latency_stale_after_s": 60})
    i = fleet.index.positions["p1#0"]
    fleet.first_token("p1#0", 1.0, 0.0)
    fleet.first_token("p1#0", 3.0, 1.0)
    assert fleet.load.ttft_s[i] == pytest.approx(2.0)
    fleet.first_token("p1#0", 10.0, 100.0)  # the old average went stale: restart from the sample
    assert fleet.load.ttft_s[i] == pytest.approx(10.0)
    fleet.first_token("p1#0", math.nan, 101.0)
    fleet.first_token("p1#0", -1.0, 101.0)
    assert fleet.load.ttft_s[i] == pytest.approx(10.0)
    fleet.begin("p1#0", 1, 101.0)
    fleet.finish("p1#0", ok=True, tokens=1, now=102.0, rng=RNG, itl_s=0.02)
    assert fleet.load.itl_s[i] == pytest.approx(0.02)


def test_latency_estimates_fill_unknown_with_peer_median() -> None:
    fleet = two_site_fleet(routing={"latency_prior_ttft_s": 0.7, "latency_stale_after_s": 60})
    idx = fleet.index.backends_for_model("m").indices
    ttft, itl = fleet.load.latency_estimates(idx, 0.0)
    assert list(ttft) == [0.7] * 4 and itl[0] == pytest.approx(0.03)
    fleet.first_token("p1#0", 1.0, 0.0)
    fleet.first_token("p1#1", 3.0, 0.0)
    ttft, _ = fleet.load.latency_estimates(idx, 10.0)
    assert list(ttft) == [1.0, 3.0, 2.0, 2.0]
    ttft, _ = fleet.load.latency_estimates(idx, 100.0)  # all stale again: unknown, the prior
    assert list(ttft) == [0.7] * 4


def test_metrics_staleness_is_unknown_not_idle_nor_saturated() -> None:
    fleet = two_site_fleet(
        routing={"probes": {"stale_after_s": 5}, "saturation": {"max_waiting": 4}}
    )
    idx = fleet.index.backends_for_model("m").indices
    fleet.load.record_metrics("p1#0", waiting=10, running=3, kv_usage=0.5, now=0.0)
    fleet.load.record_metrics("p1#1", waiting=0, running=3, kv_usage=1.7, now=0.0)
    assert list(fleet.load.saturated(idx, 1.0)) == [True, True, False, False]
    assert list(fleet.load.metrics_stale(idx, 1.0)) == [False] * 4
    assert list(fleet.load.saturated(idx, 10.0)) == [False] * 4
    assert list(fleet.load.metrics_stale(idx, 10.0)) == [True, True, False, False]
    assert fleet.load.kv_usage[fleet.index.positions["p1#1"]] == 1.0


def test_priority_share_and_in_flight_cap() -> None:
    fleet = two_site_fleet(
        routing={"saturation": {"max_waiting": 10, "max_in_flight_per_replica": 2}}
    )
    idx = fleet.index.backends_for_model("m").indices
    fleet.load.record_metrics("p2#0", waiting=8, running=0, kv_usage=0.1, now=0.0)
    assert not fleet.load.saturated(idx, 0.0)[2]
    assert fleet.load.saturated(idx, 0.0, share=0.8)[2]
    fleet.begin("p1#0", 1, 0.0)
    assert not fleet.load.saturated(idx, 0.0)[0]
    fleet.begin("p1#0", 1, 0.0)
    assert fleet.load.saturated(idx, 0.0)[0]  # 2 in flight on 1 replica


def test_version_counts_in_flight_cap_crossings_only() -> None:
    """With a per-replica cap, saturation depends on in-flight counts: `version` moves exactly
    when a backend reaches or leaves its cap at a watched share (0.8 and 1.0 here)."""
    fleet = two_site_fleet(routing={"saturation": {"max_in_flight_per_replica": 5}})
    i = fleet.index.positions["p1#0"]  # one replica: caps 4 (share 0.8) and 5
    versions = []
    for _ in range(6):
        fleet.begin("p1#0", 1, 0.0)
        versions.append(fleet.load.version)
    assert versions == [0, 0, 0, 1, 2, 2]
    for _ in range(6):
        fleet.finish("p1#0", ok=True, tokens=1, now=0.0, rng=RNG)
    assert fleet.load.version == 4 and fleet.load.in_flight[i] == 0
    uncapped = two_site_fleet()
    uncapped.begin("p1#0", 1, 0.0)
    assert uncapped.load.version == 0


def test_version_ignores_metrics_that_change_no_mask() -> None:
    fleet = two_site_fleet(
        routing={"probes": {"stale_after_s": 5}, "saturation": {"max_waiting": 10}}
    )
    fleet.load.record_metrics("p1#0", waiting=1, running=0, kv_usage=0.1, now=0.0)
    first = fleet.load.version  # the first scrape turns the backend fresh: a change
    fleet.load.record_metrics("p1#0", waiting=2, running=0, kv_usage=0.1, now=1.0)
    assert fleet.load.version == first
    fleet.load.record_metrics("p1#0", waiting=9, running=0, kv_usage=0.1, now=2.0)  # >= 0.8
    assert fleet.load.version == first + 1
