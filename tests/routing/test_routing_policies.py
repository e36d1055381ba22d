"""Each routing policy on its own, through the one policy signature."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from routing_helpers import make_settings, pool, request, site

from fleetgate.routing.config import RoutingSettings
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.index import Backend
from fleetgate.routing.policies import (
    POLICIES,
    Affinity,
    build_policy,
    latency_aware,
    least_in_flight,
    least_outstanding_tokens,
    lowest_of_few,
    lowest_of_many,
    power_of_two,
    round_robin,
)


def _id(backend: Backend | None) -> str:
    assert backend is not None
    return backend.id


def _fleet(backends: int = 4, *, big: bool = False) -> Fleet:
    pools = [pool("small", backends=backends)]
    if big:
        pools.append(pool("big", gpus=32))  # capacity weight 4
    return Fleet.from_settings(make_settings([site("s", pools)]))


def test_every_policy_returns_none_for_no_candidates() -> None:
    fleet = _fleet()
    empty = fleet.index.backends_for_model("nope")
    for name, policy in POLICIES.items():
        assert policy(empty, request(), fleet.view, random.Random(1), 0.0) is None, name
        assert policy([], request(), fleet.view, random.Random(1), 0.0) is None, name


def test_every_policy_handles_a_single_candidate_and_plain_lists() -> None:
    fleet = _fleet(1)
    only = list(fleet.index.backends_for_model("m"))
    for name, policy in POLICIES.items():
        assert (
            policy(only, request(affinity_key="k"), fleet.view, random.Random(1), 0.0) == only[0]
        ), name


def test_least_in_flight_picks_lowest_load_per_capacity() -> None:
    fleet = _fleet(2, big=True)
    cands = fleet.index.backends_for_model("m")
    for _ in range(3):
        fleet.begin("big#0", 1, 0.0)  # 3 / 4 = 0.75 per replica
    fleet.begin("small#0", 1, 0.0)  # 1 / 0.5... small pool: 8 GPUs / TP 8 over 2 backends
    chosen = least_in_flight(cands, request(), fleet.view, random.Random(1), 0.0)
    assert chosen is not None and chosen.id == "small#1"
    fleet.begin("small#1", 1, 0.0)  # 1 / 0.5 = 2.0 > 0.75
    chosen = least_in_flight(cands, request(), fleet.view, random.Random(1), 0.0)
    assert chosen is not None and chosen.id == "big#0"


def test_ties_are_broken_at_random_not_by_order() -> None:
    fleet = _fleet(4)
    cands = fleet.index.backends_for_model("m")
    rng = random.Random(5)
    picks = Counter(least_in_flight(cands, request(), fleet.view, rng, 0.0).id for _ in range(400))  # type: ignore[union-attr]
    assert len(picks) == 4 and min(picks.values()) > 50


def test_least_outstanding_tokens_counts_request_and_capacity() -> None:
    fleet = _fleet(1, big=True)  # small#0 weight 1, big#0 weight 4
    cands = fleet.index.backends_for_model("m")
    fleet.begin("small#0", 100, 0.0)
    fleet.begin("big#0", 1000, 0.0)
    # 1,100 more tokens: small (100 + 1100) / 1 = 1200, big (1000 + 1100) / 4 = 525
    chosen = least_outstanding_tokens(
        cands, request(input_tokens=1000), fleet.view, random.Random(1), 0.0
    )
    assert chosen is not None and chosen.id == "big#0"
    # no more tokens: small 100 / 1 = 100, big 1000 / 4 = 250
    empty = request(input_tokens=0, max_output_tokens=0)
    chosen = least_outstanding_tokens(cands, empty, fleet.view, random.Random(1), 0.0)
    assert chosen is not None and chosen.id == "small#0"


def test_power_of_two_prefers_the_less_loaded_of_two_distinct() -> None:
    fleet = _fleet(2)
    cands = fleet.index.backends_for_model("m")
    for _ in range(5):
        fleet.begin("small#0", 1, 0.0)
    rng = random.Random(2)
    assert {power_of_two(cands, request(), fleet.view, rng, 0.0).id for _ in range(50)} == {
        "small#1"
    }  # type: ignore[union-attr]


def test_power_of_two_spreads_load() -> None:
    fleet = _fleet(8)
    cands = fleet.index.backends_for_model("m")
    rng = random.Random(3)
    for _ in range(800):
        chosen = power_of_two(cands, request(), fleet.view, rng, 0.0)
        assert chosen is not None
        fleet.begin(chosen.id, 1, 0.0)
    loads = [fleet.load.in_flight[i] for i in cands.indices]
    assert max(loads) - min(loads) <= 3


def test_latency_aware_pays_the_orbital_round_trip() -> None:
    settings = make_settings(
        [
            site("ground", [pool("g")], network_rtt_ms=5),
            site("orbit", [pool("o")], kind="orbital", network_rtt_ms=600),
        ]
    )
    fleet = Fleet.from_settings(settings)
    cands = fleet.index.backends_for_model("m")
    fleet.first_token("g#0", 0.4, 0.0)
    fleet.first_token("o#0", 0.1, 0.0)  # faster engine, but 600 ms away
    chosen = latency_aware(cands, request(max_output_tokens=1), fleet.view, random.Random(1), 1.0)
    assert chosen is not None and chosen.id == "g#0"
    fleet.first_token("g#0", 5.0, 1.0)
    fleet.first_token("g#0", 5.0, 1.0)
    fleet.first_token("g#0", 5.0, 1.0)  # the ground site slows down a lot
    chosen = latency_aware(cands, request(max_output_tokens=1), fleet.view, random.Random(1), 2.0)
    assert chosen is not None and chosen.id == "o#0"


def test_latency_aware_inflates_by_load() -> None:
    fleet = _fleet(2)
    cands = fleet.index.backends_for_model("m")
    for backend in ("small#0", "small#1"):
        fleet.first_token(backend, 0.5, 0.0)
    fleet.begin("small#0", 1, 0.0)
    chosen = latency_aware(cands, request(), fleet.view, random.Random(1), 0.0)
    assert chosen is not None and chosen.id == "small#1"


def test_round_robin_follows_the_fleet_counter() -> None:
    fleet = _fleet(3)
    cands = fleet.index.backends_for_model("m")
    seen = []
    for _ in range(6):
        chosen = round_robin(cands, request(), fleet.view, random.Random(1), 0.0)
        assert chosen is not None
        seen.append(chosen.id)
        fleet.begin(chosen.id, 1, 0.0)
    assert seen == ["small#0", "small#1", "small#2"] * 2


def test_affinity_is_sticky_per_key_and_spreads_keys() -> None:
    fleet = _fleet(8)
    cands = fleet.index.backends_for_model("m")
    policy = Affinity(least_in_flight, load_factor=100.0)
    homes = {}
    for key in range(200):
        picks = {
            _id(policy(cands, request(affinity_key=f"s{key}"), fleet.view, random.Random(n), 0.0))
            for n in range(3)
        }
        assert len(picks) == 1  # the same home whatever the rng
        homes[key] = picks.pop()
    assert len(set(homes.values())) == 8
    assert max(Counter(homes.values()).values()) < 50


def test_affinity_never_shares_a_key_across_tenants() -> None:
    fleet = _fleet(16)
    cands = fleet.index.backends_for_model("m")
    policy = Affinity(least_in_flight, load_factor=100.0)
    differ = 0
    for key in range(100):
        a = policy(
            cands, request("tenant-a", affinity_key=f"k{key}"), fleet.view, random.Random(1), 0.0
        )
        b = policy(
            cands, request("tenant-b", affinity_key=f"k{key}"), fleet.view, random.Random(1), 0.0
        )
        differ += a != b
    assert differ > 80  # independent homes: equal only by chance (1 in 16)


def test_affinity_yields_to_the_load_cap() -> None:
    fleet = _fleet(4)
    cands = fleet.index.backends_for_model("m")
    policy = Affinity(least_in_flight, load_factor=1.25)
    home = policy(cands, request(affinity_key="hot"), fleet.view, random.Random(1), 0.0)
    assert home is not None
    for _ in range(10):
        fleet.begin(home.id, 1, 0.0)
    moved = policy(cands, request(affinity_key="hot"), fleet.view, random.Random(1), 0.0)
    assert moved is not None and moved != home
    again = policy(cands, request(affinity_key="hot"), fleet.view, random.Random(9), 0.0)
    assert again == moved  # the spill home is stable too
    for _ in range(10):
        fleet.finish(home.id, ok=True, tokens=1, now=1.0, rng=random.Random(1))
    back = policy(cands, request(affinity_key="hot"), fleet.view, random.Random(1), 1.0)
    assert back == home


def test_affinity_without_key_uses_its_fallback() -> None:
    fleet = _fleet(2)
    cands = fleet.index.backends_for_model("m")
    fleet.begin("small#0", 1, 0.0)
    chosen = Affinity(least_in_flight)(cands, request(), fleet.view, random.Random(1), 0.0)
    assert chosen is not None and chosen.id == "small#1"


def test_build_policy_configures_affinity() -> None:
    routing = RoutingSettings(affinity_fallback="power_of_two", affinity_load_factor=2.0)
    policy = build_policy("affinity", routing)
    assert isinstance(policy, Affinity)
    assert policy.fallback is power_of_two and policy.load_factor == 2.0
    assert build_policy("round_robin", routing) is round_robin
    with pytest.raises(KeyError, match="unknown routing policy"):
        build_policy("nope", routing)


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(
        st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.5, math.inf, -math.inf, math.nan]),
        min_size=1,
        max_size=16,
    ),
    seed=st.integers(0, 100),
)
def test_lowest_of_few_answers_and_draws_as_lowest_of_many(scores: list[float], seed: int) -> None:
    array = np.array(scores)
    few_rng, many_rng = random.Random(seed), random.Random(seed)
    try:
        expected = lowest_of_many(array, many_rng)
    except ValueError:  # NaN lowest: no tie to draw from, whichever way it is found
        with pytest.raises(ValueError):
            lowest_of_few(array, few_rng)
        return
    assert lowest_of_few(array, few_rng) == expected
    assert few_rng.random() == many_rng.random()  # the same draws were made
