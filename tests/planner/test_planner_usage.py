"""Heavy-tailed usage and the diurnal curve against hand-computed values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetgate.planner.usage import capped_mean, hourly_shares, in_hours, quantile, share_over


def test_capped_mean_at_the_mean_with_unit_shape() -> None:
    # mean 1, sigma 1, cap 1: mu = -0.5; Phi(-0.5) + (1 - Phi(0.5)) = 2 * 0.308538
    assert capped_mean(1.0, 1.0, 1.0) == pytest.approx(0.617075, abs=1e-6)
    assert share_over(1.0, 1.0, 1.0) == pytest.approx(0.308538, abs=1e-6)


def test_capped_mean_limits() -> None:
    assert capped_mean(5.0, 1.2, math.inf) == 5.0
    assert capped_mean(5.0, 1.2, 0.0) == 0.0
    assert share_over(5.0, 1.2, math.inf) == 0.0
    assert share_over(5.0, 1.2, 0.0) == 1.0


def test_quantile_median_and_tail() -> None:
    assert quantile(10.0, 1.0, 0.5) == pytest.approx(10.0 * math.exp(-0.5))
    # the heaviest 1% start at exp(mu + 2.326 sigma): ~6.2x the mean for sigma 1
    assert quantile(1.0, 1.0, 0.99) == pytest.approx(math.exp(-0.5 + 2.326348), rel=1e-6)


@given(
    mean=st.floats(1.0, 1e6),
    sigma=st.floats(0.1, 3.0),
    low=st.floats(0.01, 1e6),
    extra=st.floats(0.0, 1e6),
)
def test_capped_mean_grows_with_the_cap_and_stays_below_mean_and_cap(
    mean: float, sigma: float, low: float, extra: float
) -> None:
    small = capped_mean(mean, sigma, low)
    large = capped_mean(mean, sigma, low + extra)
    assert small <= large * (1 + 1e-9) + 1e-12
    assert large <= mean * (1 + 1e-9)
    assert small <= low * (1 + 1e-9)


def test_cosine_diurnal_curve() -> None:
    shares = hourly_shares(16, 3.0)
    assert sum(shares) == pytest.approx(1.0)
    assert max(shares) == shares[16]
    assert min(shares) == pytest.approx(shares[4])
    assert shares[16] / shares[4] == pytest.approx(3.0)
    # weights run 1..3 with mean 2, so the peak hour carries 3 / 48 of the day
    assert shares[16] == pytest.approx(3 / 48)


def test_explicit_hourly_weights_are_normalized() -> None:
    weights = tuple([1.0] * 12 + [3.0] * 12)
    shares = hourly_shares(0, 1.0, weights)
    assert shares[0] == pytest.approx(1 / 48)
    assert shares[23] == pytest.approx(3 / 48)


def test_hours_wrap_past_midnight() -> None:
    assert in_hours(13, 13, 19) and not in_hours(19, 13, 19)
    assert in_hours(23, 22, 2) and in_hours(1, 22, 2) and not in_hours(2, 22, 2)
    assert all(in_hours(hour, 0, 24) for hour in range(24))
