"""The demand file: defaults from the limits catalog, and key-path errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from planner_fixtures import DEMAND, demand

from fleetgate.errors import ConfigurationError
from fleetgate.limits.config import LimitsSettings, PlanSettings
from fleetgate.planner.demand import demand_from_mapping, load_demand

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_demand_file_loads() -> None:
    loaded = load_demand(EXAMPLES / "demand-colossus.yaml")
    assert [plan.id for plan in loaded.plans][:2] == ["free", "pro"]
    assert {plan.id: plan.five_hour_multiplier for plan in loaded.plans}["max-20x"] == 20.0


def test_published_multipliers_and_tier_limits_are_defaults() -> None:
    loaded = demand_from_mapping(DEMAND)
    pro, max5 = loaded.plans
    assert pro.five_hour_multiplier == 1.0
    assert max5.five_hour_multiplier == 5.0
    assert max5.weekly_multiplier == 5.0
    assert [tier.offered_otpm for tier in loaded.tiers] == [400_000, 2_000_000]
    assert [tier.otpm_multiplier for tier in loaded.tiers] == [400_000, 2_000_000]


def test_weekly_mean_is_derived_from_sessions() -> None:
    loaded = demand_from_mapping(DEMAND)
    pro = loaded.plans[0]
    # 40k tokens x 1 session x 7 days x 0.4 daily active / 0.7 weekly active
    assert pro.weekly_tokens_mean == pytest.approx(40_000 * 7 * 0.4 / 0.7)


def _error(data: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        demand_from_mapping(data, source="demand.yaml")
    return caught.value.message


def test_missing_fields_are_named() -> None:
    data = demand()
    del data["plans"][1]["session_tokens_mean"]
    del data["offer"]
    message = _error(data)
    assert "plans[1].session_tokens_mean: required key is missing" in message
    assert "offer: required key is missing" in message


def test_negative_counts_are_refused_with_the_key_path() -> None:
    data = demand()
    data["plans"][0]["subscribers"] = -5
    data["tiers"][1]["organizations"] = -1
    message = _error(data)
    assert "plans[0].subscribers: expected a non-negative integer, got -5" in message
    assert "tiers[1].organizations: expected a non-negative integer, got -1" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"model_mix": {"sonnet": 0.5, "haiku": 0.2}},
            "model_mix: expected shares that add up to 1",
        ),
        ({"refusal_target": 0.9}, "refusal_target: expected a refusal rate in (0, 0.5]"),
        ({"utilization_target": 1.5}, "utilization_target: expected a fraction in (0, 1]"),
        ({"diurnal": {"hourly": [1, 2, 3]}}, "diurnal.hourly: expected 24 hourly weights, got 3"),
        ({"diurnal": {"peak_hour_utc": 25}}, "diurnal.peak_hour_utc: expected an hour"),
        ({"plans": []}, "plans: expected at least one plan"),
        ({"surprise": 1}, "surprise: unknown key"),
    ],
)
def test_bad_values_are_refused(change: dict[str, object], expected: str) -> None:
    assert expected in _error(demand(**change))


def test_unknown_plan_needs_a_multiplier() -> None:
    data = demand()
    data["plans"][0]["id"] = "student"
    assert "plans[0].five_hour_multiplier: required for a plan other than free" in _error(data)
    data["plans"][0]["five_hour_multiplier"] = 0.5
    assert demand_from_mapping(data).plans[0].five_hour_multiplier == 0.5


def test_plan_multiples_are_the_limits_catalogs() -> None:
    # issue 13: the planner's own table was the v2025 profile; the catalog (what the gateway
    # enforces) defaults to v2026, where Pro's five-hour allowance doubled and Free's did not
    data = demand()
    data["plans"][0]["id"] = "free"
    free = demand_from_mapping(data).plans[0]
    assert (free.five_hour_multiplier, free.weekly_multiplier) == (0.1, 0.2)
    v2025 = demand_from_mapping(data, limits=LimitsSettings(profile="v2025")).plans[0]
    assert (v2025.five_hour_multiplier, v2025.weekly_multiplier) == (0.2, 0.2)
    custom = LimitsSettings(plans={"student": PlanSettings(five_hour=1e6, seven_day=1e7)})
    data["plans"][0]["id"] = "student"
    student = demand_from_mapping(data, limits=custom).plans[0]
    assert student.five_hour_multiplier == pytest.approx(0.1)
    assert student.weekly_multiplier == pytest.approx(0.2)


def test_every_catalog_tier_is_known() -> None:
    data = demand()
    data["tiers"] = [
        {"id": "tier-1", "organizations": 10, "utilization_mean": 0.1},
        {"id": "tier-4-raised", "organizations": 10, "utilization_mean": 0.1},
    ]
    assert [tier.offered_otpm for tier in demand_from_mapping(data).tiers] == [8_000, 400_000]


def test_the_old_enterprise_id_points_at_the_catalogs_name() -> None:
    data = demand()
    data["plans"][0]["id"] = "enterprise"
    assert "(the limits catalog calls it 'enterprise-seat'?)" in _error(data)


def test_cross_field_problems() -> None:
    data = copy.deepcopy(DEMAND)
    data["plans"][1]["id"] = "pro"
    data["plans"][0]["weekly_active_share"] = 0.1
    data["peak_metering"]["plans"] = ["nope"]
    data["tiers"][0]["id"] = "platinum"
    message = _error(data)
    assert "plans[1].id: duplicate id 'pro'" in message
    assert "plans[0].weekly_active_share: must be at least daily_active_share" in message
    assert "peak_metering.plans[0]: unknown plan 'nope'" in message
    # the known tiers are the limits catalog's (issue 13: no copied table), tier-1 first
    assert "tiers[0].offered_otpm: required for a tier other than tier-1, " in message


def test_not_a_mapping_and_unreadable_files(tmp_path: Path) -> None:
    assert "expected a mapping" in _error([1, 2])
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_demand(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("plans: [", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_demand(broken)
