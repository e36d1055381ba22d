"""Availability closed forms (capacity-constants 4.4) and the capacity distribution."""

from __future__ import annotations

import pytest

from fleetgate.planner.site_availability import (
    all_up,
    any_up,
    capacity_distribution,
    fleet_availability,
    k_of_n,
)


def test_two_and_three_independent_clusters() -> None:
    assert any_up([0.991, 0.991]) == pytest.approx(0.999919)
    assert any_up([0.991] * 3) == pytest.approx(0.99999927, abs=1e-9)
    assert all_up([0.991, 0.991]) == pytest.approx(0.982081)


@pytest.mark.parametrize(
    ("k", "n", "expected"), [(2, 3, 0.9997585), (3, 4, 0.9995198), (5, 6, 0.9988139)]
)
def test_k_of_n(k: int, n: int, expected: float) -> None:
    assert k_of_n(k, n, 0.991) == pytest.approx(expected, abs=1e-7)


def test_distribution_of_two_sites() -> None:
    states = dict(capacity_distribution([1.0, 2.0], [0.9, 0.8]))
    assert states == pytest.approx({0.0: 0.02, 1.0: 0.18, 2.0: 0.08, 3.0: 0.72})


def test_capacity_weighted_and_throttle_probability() -> None:
    figures = fleet_availability([1.0, 2.0], [0.9, 0.8], common_mode=1.0, required=2.0)
    # E[min(cap, 2)] / 2 = (0.18 * 1 + 0.08 * 2 + 0.72 * 2) / 2
    assert figures.capacity_weighted == pytest.approx(0.89)
    assert figures.throttle_probability == pytest.approx(0.2)
    assert figures.any_site_up == pytest.approx(0.98)
    assert figures.expected_capacity_share == pytest.approx((0.9 + 1.6) / 3)


def test_common_mode_caps_everything() -> None:
    figures = fleet_availability([1.0] * 3, [0.991] * 3, common_mode=0.9995, required=1.0)
    assert figures.any_site_up == pytest.approx(0.9995 * 0.99999927, abs=1e-9)
    assert figures.any_site_up < 0.9995
    assert figures.throttle_probability == pytest.approx(1 - 0.9995 * 0.99999927, abs=1e-9)
    assert figures.downtime_minutes_per_year == pytest.approx((1 - figures.any_site_up) * 525_600)


def test_many_sites_stay_cheap_and_sum_to_one() -> None:
    states = capacity_distribution([float(i + 1) for i in range(60)], [0.99] * 60)
    assert len(states) <= 10_001
    assert sum(p for _, p in states) == pytest.approx(1.0)
