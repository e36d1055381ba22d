"""Plan budgets and tier limits against hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import pytest
from planner_fixtures import demand

from fleetgate.planner.demand import DemandFile, demand_from_mapping
from fleetgate.planner.heavy_tail import capped_mean
from fleetgate.planner.limits_offer import (
    api_offer,
    deliverable_week,
    hourly_demand,
    largest_within,
    refused_share,
    subscription_offer,
    weekly_demand,
)

FLAT = {"hourly": [1.0] * 24}
ONE_PLAN = [
    {
        "id": "pro",
        "subscribers": 2_400_000,
        "daily_active_share": 0.5,
        "session_tokens_mean": 36_000,
        "usage_sigma": 1.0,
        "weekly_active_share": 1.0,
    }
]


def _flat(**changes: Any) -> DemandFile:
    base: dict[str, Any] = {
        "diurnal": FLAT,
        "peak_metering": {"enabled": False},
        "model_mix": {"sonnet": 1.0},
        "plans": ONE_PLAN,
        "tiers": [],
    }
    base.update(changes)
    return demand_from_mapping(demand(**base))


def test_hourly_demand_by_hand() -> None:
    flat = _flat()
    rates = hourly_demand(flat, 50_000)
    # 1.2M sessions a day, 1/24 of them each hour, each E[min(D, 50k)] tokens, over 3,600 s
    expected = 1_200_000 / 24 * capped_mean(36_000, 1.0, 50_000) / 3600
    assert rates == pytest.approx((expected,) * 24)


def test_peak_metering_burns_the_budget_faster() -> None:
    metered = _flat(
        peak_metering={"enabled": True, "hours_utc": [0, 24], "multiplier": 2, "plans": ["pro"]}
    )
    assert hourly_demand(metered, 50_000) == pytest.approx(hourly_demand(_flat(), 25_000))
    partly = _flat(
        peak_metering={"enabled": True, "hours_utc": [13, 19], "multiplier": 2, "plans": ["pro"]}
    )
    rates = hourly_demand(partly, 50_000)
    assert rates[13] == pytest.approx(hourly_demand(_flat(), 25_000)[13])
    assert rates[12] == pytest.approx(hourly_demand(_flat(), 50_000)[12])


def test_peak_metering_applies_by_default_to_the_plans_the_catalog_meters() -> None:
    free = {**ONE_PLAN[0], "id": "free", "subscribers": 1_000}
    metering = {"enabled": True, "hours_utc": [0, 24], "multiplier": 2}
    both = _flat(plans=[*ONE_PLAN, free], peak_metering=metering)
    assert both.peak_metering.plans == ("free",)  # v2026 meters free, not pro
    assert hourly_demand(_flat(peak_metering=metering), 50_000) == pytest.approx(
        hourly_demand(_flat(), 50_000)
    )


def test_refused_share_by_hand() -> None:
    rates = (2.0, 1.0) + (0.0,) * 22
    # model a gets 3/4 of the load and 1.2 of capacity: hour 0 refuses 1.5 - 1.2 = 0.3
    share = refused_share(rates, {"a": 0.75, "b": 0.25}, {"a": 1.2, "b": 1.0})
    assert share == pytest.approx(0.3 / 3.0)
    assert refused_share((0.0,) * 24, {"a": 1.0}, {"a": 1.0}) == 0.0


def test_largest_within() -> None:
    value, binding = largest_within(lambda x: x, 3.0, 10.0)
    assert binding and value == pytest.approx(3.0, rel=1e-9)
    assert largest_within(lambda x: x, 30.0, 10.0) == (10.0, False)
    assert largest_within(lambda x: 5.0, 3.0, 10.0) == (0.0, True)


def test_sustainable_budget_fills_capacity_at_the_refusal_target() -> None:
    flat = _flat(refusal_target=0.01)
    capacity = 100_000.0  # tokens/s for the one model
    offer = subscription_offer(flat, {"sonnet": capacity})
    pro = offer.plans[0]
    assert offer.five_hour_binding
    # flat day: refused share = 1 - C / d  ->  d = C / 0.99 at the sustainable budget
    served = 1_200_000 / 24 * capped_mean(36_000, 1.0, pro.sustainable_five_hour) / 3600
    assert served == pytest.approx(capacity / 0.99, rel=1e-6)
    assert offer.sustainable_scale == pytest.approx(pro.sustainable_five_hour / 50_000)
    assert offer.peak_utilization_offered == pytest.approx(
        hourly_demand(flat, 50_000)[0] / capacity
    )


def test_a_fleet_serving_uncapped_demand_is_not_binding() -> None:
    offer = subscription_offer(_flat(), {"sonnet": 1e12})
    assert not offer.five_hour_binding
    assert math.isinf(offer.plans[0].sustainable_five_hour)
    assert offer.plans[0].hit_share_sustainable == 0.0
    assert offer.refusal_offered == 0.0


def test_weekly_budget_by_hand() -> None:
    flat = _flat(refusal_target=0.01)
    capacity = 50_000.0
    week = deliverable_week(flat, {"sonnet": capacity})
    assert week == pytest.approx(7 * 86_400 * capacity)
    offer = subscription_offer(flat, {"sonnet": capacity})
    # weekly mean = 36k x 7 x 0.5 = 126k; 2.4M subscribers' capped use fills week / 0.99
    used = 2_400_000 * capped_mean(126_000, 1.0, offer.plans[0].sustainable_weekly)
    assert used == pytest.approx(week / 0.99, rel=1e-6)
    assert weekly_demand(flat, math.inf) == pytest.approx(2_400_000 * 126_000)


def test_api_tier_limits_by_hand() -> None:
    tiers = [
        {
            "id": "custom",
            "organizations": 100,
            "offered_otpm": 60_000,
            "utilization_mean": 0.1,
            "utilization_sd": 0.1,
        }
    ]
    flat = _flat(tiers=tiers, refusal_target=0.01)
    api = api_offer(flat, 1000.0, 0.05)
    # z(0.99) = 2.3263; mean 600,000 + z x 60,000 = 739,581 units -> base 0.0811278
    assert api.tiers[0].sustainable_otpm == pytest.approx(60_000 * 60_000 / 739_581.1, rel=1e-5)
    assert api.tiers[0].sustainable_itpm == pytest.approx(5 * api.tiers[0].sustainable_otpm)
    assert api.tiers[0].sustainable_rpm == pytest.approx(api.tiers[0].sustainable_otpm / 400)
    assert api.utilization_offered == pytest.approx(10.0)  # 10,000 tok/s wanted of 1,000
    assert api.refusal_probability_offered == pytest.approx(1.0)
    assert api.per_stream_otpm == pytest.approx(1200.0)
