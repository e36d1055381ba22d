"""Heavy-tailed usage against hand-computed values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetgate.planner.heavy_tail import capped_mean, quantile, share_over


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
