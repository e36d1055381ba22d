"""Cost per GPU-hour and per million tokens against hand-computed values."""

from __future__ import annotations

import pytest

from fleetgate.errors import ConfigurationError
from fleetgate.planner.costs import (
    cost_per_million_tokens,
    gpu_capex,
    orbital_gpu_hour,
    terrestrial_gpu_hour,
)


def test_terrestrial_h100_hour() -> None:
    hour = terrestrial_gpu_hour(
        gpu_capex_usd=25_000,
        gpu_life_years=5,
        it_power_kw=1.275,
        pue=1.1,
        facility_capex_usd_per_w=13.8,
        facility_life_years=15,
        electricity_usd_per_kwh=0.065,
    )
    assert hour.hardware == pytest.approx(25_000 / 43_800)  # $0.5708
    assert hour.site == pytest.approx(13.8 * 1275 / (15 * 8760))  # $0.1339
    assert hour.energy == pytest.approx(1.275 * 1.1 * 0.065)  # $0.0912
    assert hour.launch == 0.0
    assert hour.total == pytest.approx(0.795843, abs=1e-6)


def test_orbital_hour_divides_by_survivors() -> None:
    hour = orbital_gpu_hour(
        gpu_capex_usd=40_000,
        spacecraft_usd_per_gpu=10_000,
        launch_usd_per_gpu=5_000,
        life_years=5,
        surviving_fraction=0.5,
    )
    assert hour.total == pytest.approx(55_000 / 21_900)
    assert hour.launch == pytest.approx(5_000 / 21_900)
    assert hour.energy == 0.0


def test_cost_per_million_tokens() -> None:
    # $0.80 an hour at 306 tok/s and 80% utilization: 881,280 tokens an hour
    assert cost_per_million_tokens(0.8, 306, 0.8) == pytest.approx(0.9078, abs=1e-4)
    assert cost_per_million_tokens(0.8, 0.0, 0.8) == float("inf")


def test_gpu_prices_default_and_override() -> None:
    assert gpu_capex("h100-sxm", {}) == 25_000
    assert gpu_capex("h100-sxm", {"h100-sxm": 30_000}) == 30_000
    with pytest.raises(ConfigurationError, match=r"costs\.gpu_capex_usd\.mi300x"):
        gpu_capex("mi300x", {})
