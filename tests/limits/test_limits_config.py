"""The `limits:` settings, shipped data files, store URIs and calendar-month windows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetgate.errors import ConfigurationError
from fleetgate.limits import windows
from fleetgate.limits.catalog import LimitsCatalog
from fleetgate.limits.config import LimitsSettings
from fleetgate.limits.limiter import Limiter
from fleetgate.limits.stores.memory import AsyncMemoryStore
from fleetgate.limits.stores.seam import store_from_uri
from fleetgate.settings import settings_from_mapping

DATA = Path(__file__).resolve().parents[2] / "src" / "fleetgate" / "limits" / "data"


def test_empty_limits_section_ships_every_profile() -> None:
    settings = settings_from_mapping({"limits": {}})
    catalog = LimitsCatalog.from_settings(settings.limits)
    assert set(catalog.plans) == {
        "free",
        "pro",
        "max-5x",
        "max-20x",
        "team-standard",
        "team-premium",
        "enterprise-seat",
    }
    pro, max5, max20 = catalog.plans["pro"], catalog.plans["max-5x"], catalog.plans["max-20x"]
    assert max5.five_hour == 5 * pro.five_hour and max20.seven_day == 20 * pro.seven_day
    assert catalog.plans["team-premium"].seven_day == 6.25 * pro.seven_day
    assert {"tier-1", "tier-4", "tier-4-raised", "start", "build", "scale"} <= set(catalog.tiers)
    raised = catalog.tiers["tier-4-raised"].families["opus"]
    assert (raised.itpm, raised.otpm) == (10_000_000, 800_000)
    assert catalog.tiers["tier-1"].families["haiku-3"].cache_reads_count
    assert catalog.tiers["start"].count_tokens_rpm == 5000


def test_profiles_switch_published_behaviour() -> None:
    old = LimitsCatalog.from_settings(LimitsSettings(profile="v2025"))
    new = LimitsCatalog.from_settings(LimitsSettings(profile="v2026"))
    assert new.plans["pro"].five_hour == 2 * old.plans["pro"].five_hour  # doubled 2026-05-06
    assert new.plans["pro"].seven_day == old.plans["pro"].seven_day
    assert not old.plans["team-standard"].peak_metering
    assert new.plans["team-standard"].peak_metering and not new.plans["max-5x"].peak_metering
    assert LimitsSettings(profile="v2025").reserves_output
    assert not LimitsSettings(profile="v2026").reserves_output
    assert LimitsSettings(profile="v2026", output_accounting="reserve").reserves_output


def test_data_files_name_their_sources() -> None:
    for name in ("tiers.yaml", "plans.yaml", "weights.yaml"):
        text = (DATA / name).read_text(encoding="utf-8")
        assert "# Source" in text and "https://" in text


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"peak": {"timezone": "Mars/Olympus"}}, "limits.peak.timezone: expected an IANA"),
        ({"peak": {"start": "5am"}}, "limits.peak.start: expected a local time HH:MM"),
        ({"peak": {"days": ["funday"]}}, "limits.peak.days[0]: expected a weekday"),
        ({"profile": "v2024"}, "limits.profile: expected one of"),
        (
            {"plans": {"x": {"five_hour": -1, "seven_day": 1}}},
            "limits.plans.x.five_hour: expected a positive number",
        ),
        (
            {"plans": {"x": {"five_hour": 1, "seven_day": 1, "family_weekly": {"opus": 2}}}},
            "limits.plans.x.family_weekly.opus: expected a share",
        ),
        (
            {"tiers": {"t": {"families": {"a": {"rpm": "lots", "itpm": 1, "otpm": 1}}}}},
            "limits.tiers.t.families.a.rpm: expected a positive integer, got 'lots'",
        ),
        ({"shadow": ["everything"]}, "limits.shadow[0]: expected a rule name"),
    ],
)
def test_bad_limits_settings_name_the_key_path(limits: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        settings_from_mapping({"limits": limits})
    assert expected in error.value.message


def test_unknown_plan_or_tier_of_a_tenant_is_a_configuration_error() -> None:
    settings = settings_from_mapping({"tenants": [{"id": "a"}, {"id": "b", "plan": "ultra"}]})
    with pytest.raises(ConfigurationError, match=r"tenants\[1\]\.plan: expected one of"):
        Limiter(settings.limits, settings.tenants)
    tiers = {"tenants": [{"id": "a", "tier": "tier-9"}]}
    with pytest.raises(ConfigurationError, match=r"tenants\[0\]\.tier: expected one of"):
        on_tier = settings_from_mapping(tiers)
        Limiter(on_tier.limits, on_tier.tenants)
    bad_default = {
        "limits": {
            "tiers": {
                "t": {"default_family": "x", "families": {"a": {"rpm": 1, "itpm": 1, "otpm": 1}}}
            }
        }
    }
    with pytest.raises(ConfigurationError, match=r"limits\.tiers\.t\.default_family"):
        Limiter(settings_from_mapping(bad_default).limits)


@pytest.mark.parametrize("uri", ["memcached://x", "memory://elsewhere", "", "redis-ish://a"])
def test_unknown_store_uris_are_refused(uri: str) -> None:
    with pytest.raises(ConfigurationError, match=r"limits\.store: expected"):
        store_from_uri(uri)


def test_memory_uri_builds_a_memory_store() -> None:
    assert isinstance(store_from_uri("memory://"), AsyncMemoryStore)


@given(st.integers(-(10**10), 10**10))
def test_month_bounds_match_the_calendar(moment: int) -> None:
    start, end = windows.month_bounds(float(moment))
    first = datetime.fromtimestamp(start, UTC)
    assert first.day == 1 and (first.hour, first.minute, first.second) == (0, 0, 0)
    assert start <= moment < end
    assert datetime.fromtimestamp(end, UTC).day == 1
    assert 28 * 86400 <= end - start <= 31 * 86400
