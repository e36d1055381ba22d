"""Fleet capacity: power budget, replicas, tokens/s at the SLO, orbital sites, bad input."""

from __future__ import annotations

import math
import time

import pytest
from planner_fixtures import DEMAND, ORBITAL_SITE, fleet

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.catalog import get_gpu, get_model
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.replica import replica_performance
from fleetgate.planner.capacity import fleet_capacity
from fleetgate.planner.demand import demand_from_mapping
from fleetgate.planner.orbital import OrbitParameters, design_orbital_site
from fleetgate.planner.plan import PlanOptions, make_plan
from fleetgate.settings import settings_from_mapping

DEMAND_OK = demand_from_mapping(DEMAND)


def _capacity(data: dict[str, object], *, lose_largest: bool = False):  # type: ignore[no-untyped-def]
    return fleet_capacity(
        settings_from_mapping(data), DEMAND_OK, tpot_s=0.05, ttft_s=2.0, lose_largest=lose_largest
    )


def test_power_replicas_and_tokens_of_a_pool() -> None:
    capacity = _capacity(fleet())
    pool = capacity.sites[0].pools[0]
    # 4,000 H100 x 1,275 W x PUE 1.2 = 6.12 MW of a 10 MW budget
    assert pool.power_mw == pytest.approx(6.12)
    assert pool.power_allowed_gpus == math.floor(10e6 / (1275 * 1.2))  # 6,535
    assert pool.replicas == 500
    replica = replica_performance(
        get_gpu("h100-sxm"),
        get_model("llama-3.1-70b"),
        8,
        target_tpot_s=0.05,
        target_ttft_s=2.0,
        mean_prompt_tokens=2000,
        mean_output_tokens=400,
        efficiency=Efficiency(),
    )
    assert pool.tokens_per_s == pytest.approx(500 * replica.output_tokens_per_s)
    assert pool.usable_tokens_per_s == pytest.approx(pool.tokens_per_s * 0.8)
    assert capacity.usable_by_model()["sonnet"] == pytest.approx(pool.usable_tokens_per_s)


def test_power_allowed_counts_the_other_pools() -> None:
    data = fleet()
    sites = data["sites"]
    sites[0]["pools"].append(  # type: ignore[index]
        {"id": "east-2", "gpu": "h100-sxm", "gpus": 1000, "model": "haiku", "tensor_parallel": 1}
    )
    pools = _capacity(data).sites[0].pools
    # 10 MW minus 1,000 GPUs x 1.53 kW leaves room for 5,535 in the first pool
    assert pools[0].power_allowed_gpus == math.floor((10e6 - 1000 * 1530) / 1530)


def test_power_budget_exceeded_is_refused_with_the_site() -> None:
    data = fleet()
    data["sites"][0]["power_mw"] = 5  # type: ignore[index]
    with pytest.raises(ConfigurationError) as caught:
        _capacity(data)
    message = caught.value.message
    assert "sites[0].power_mw: 5 MW cannot power the declared GPUs" in message
    assert "4,000 GPUs need 6.1 MW at PUE 1.2" in message


def test_unknown_gpu_and_model_shape_name_the_key_path() -> None:
    data = fleet()
    data["sites"][1]["pools"][0]["gpu"] = "tpu-v9"  # type: ignore[index]
    with pytest.raises(ConfigurationError, match=r"sites\[1\]\.pools\[0\]\.gpu: unknown GPU"):
        _capacity(data)
    data = fleet()
    data["models"][0]["shape"] = "gpt-9"  # type: ignore[index]
    with pytest.raises(ConfigurationError, match=r"models\[0\]\.shape: unknown model 'gpt-9'"):
        _capacity(data)


def test_a_model_that_does_not_fit_names_the_pool() -> None:
    data = fleet()
    data["sites"][0]["pools"][0]["tensor_parallel"] = 1  # type: ignore[index]
    with pytest.raises(ConfigurationError, match=r"sites\[0\]\.pools\[0\]: model .* does not fit"):
        _capacity(data)


def test_losing_the_largest_site() -> None:
    full = _capacity(fleet())
    lost = _capacity(fleet(), lose_largest=True)
    largest = max(full.sites, key=lambda site: site.usable_tokens_per_s)
    assert lost.lost_site == largest.site_id
    assert lost.usable_tokens_per_s == pytest.approx(
        full.usable_tokens_per_s - largest.usable_tokens_per_s
    )


def test_orbital_site_pays_round_trip_and_attrition() -> None:
    data = fleet(sites=[*fleet()["sites"], ORBITAL_SITE])
    site = _capacity(data).sites[2]
    design = design_orbital_site(20e6, 8000 * 1790, OrbitParameters(launch_usd_per_kg=200))
    assert site.orbital == design
    assert site.rtt_ms == pytest.approx(design.rtt_worst_ms)
    pool = site.pools[0]
    assert pool.usable_tokens_per_s == pytest.approx(
        pool.tokens_per_s * 0.8 * design.mean_surviving_fraction
    )


def test_orbit_mapping_on_a_ground_site_is_refused() -> None:
    data = fleet()
    data["sites"][0]["orbit"] = {"altitude_km": 500}  # type: ignore[index]
    with pytest.raises(ConfigurationError, match=r"sites\[0\]\.orbit: only an orbital site"):
        _capacity(data)


def test_unknown_site_in_availability_is_refused() -> None:
    demand = demand_from_mapping({**DEMAND, "site_availability": {"mars": 0.9}})
    with pytest.raises(ConfigurationError, match=r"site_availability\.mars: unknown site"):
        fleet_capacity(
            settings_from_mapping(fleet()), demand, tpot_s=0.05, ttft_s=2.0, lose_largest=False
        )


def test_a_colossus_scale_fleet_plans_fast() -> None:
    pools = [
        ("h100-sxm", 100_000, "sonnet", 8),
        ("h100-sxm", 20_000, "haiku", 1),
        ("h200", 70_000, "sonnet", 8),
        ("gb200", 30_000, "sonnet", 8),
    ]
    site = {
        "id": "colossus",
        "provider": "xai",
        "owner": "xai",
        "location": "memphis-us",
        "power_mw": 340,
        "pue": 1.1,
        "pools": [
            {"id": f"p{i}", "gpu": gpu, "gpus": gpus, "model": model, "tensor_parallel": tp}
            for i, (gpu, gpus, model, tp) in enumerate(pools)
        ],
    }
    settings = settings_from_mapping(fleet(sites=[*fleet()["sites"], site]))
    started = time.perf_counter()
    result = make_plan(settings, DEMAND_OK, PlanOptions())
    elapsed = time.perf_counter() - started
    assert result.capacity.gpus == 225_000
    assert elapsed < 5.0  # measured ~0.01 s; generous for a loaded CI box


def test_an_unreachable_slo_leaves_nothing_to_offer() -> None:
    result = make_plan(settings_from_mapping(fleet()), DEMAND_OK, PlanOptions(tpot_ms=1.0))
    assert result.capacity.usable_tokens_per_s == 0.0
    assert result.subscriptions.refusal_offered == pytest.approx(1.0)
    assert all(plan.sustainable_five_hour == 0.0 for plan in result.subscriptions.plans)
    assert result.availability.throttle_probability == pytest.approx(1.0)
    assert result.availability.capacity_weighted == 0.0
    assert math.isinf(result.usd_per_million_tokens)
    assert result.api is not None and result.api.tiers[0].sustainable_otpm == 0.0
