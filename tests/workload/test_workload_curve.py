"""The day curve (moved from the planner's usage tests and the simulator's draws) and its laws."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fleetgate.configfile import validate
from fleetgate.errors import ConfigurationError
from fleetgate.workload.curve import HOURS, DayCurve, Diurnal, in_hours


def _curve(**keys: object) -> DayCurve:
    return DayCurve(Diurnal.model_validate(keys))


def test_cosine_diurnal_curve() -> None:
    shares = _curve(peak_hour_utc=16, peak_to_trough=3.0).shares
    assert sum(shares) == pytest.approx(1.0)
    assert max(shares) == shares[16]
    assert min(shares) == pytest.approx(shares[4])
    assert shares[16] / shares[4] == pytest.approx(3.0)
    # weights run 1..3 with mean 2, so the peak hour carries 3 / 48 of the day
    assert shares[16] == pytest.approx(3 / 48)


def test_the_hour_after_the_peak_mirrors_the_hour_before() -> None:
    # the cosine is centred on the middle of the peak hour (the simulator used to put the top
    # at 16:00 itself, so that hours 15 and 16 tied)
    shares = _curve(peak_hour_utc=16, peak_to_trough=3.0).shares
    assert shares[15] == pytest.approx(shares[17])
    assert shares[15] < shares[16]


def test_explicit_hourly_weights_are_normalized() -> None:
    curve = _curve(hourly=[1.0] * 12 + [3.0] * 12)
    assert curve.shares[0] == pytest.approx(1 / 48)
    assert curve.shares[23] == pytest.approx(3 / 48)
    assert curve.weights[0] == pytest.approx(0.5)


def test_hours_wrap_past_midnight() -> None:
    assert in_hours(13, 13, 19) and not in_hours(19, 13, 19)
    assert in_hours(23, 22, 2) and in_hours(1, 22, 2) and not in_hours(2, 22, 2)
    assert all(in_hours(hour, 0, 24) for hour in range(24))


def test_the_boost_applies_inside_the_peak_hours_only() -> None:
    curve = _curve(peak_to_trough=1.0, peak_hours_utc=[22, 2], peak_boost=1.5)
    assert curve.load_share(23) == pytest.approx(1.5 / 24)
    assert curve.load_share(2) == pytest.approx(1 / 24)
    assert curve.weight(3600.0 * 24 * 100 + 3600.0 * 1.5) == pytest.approx(1.5)
    assert curve.maximum == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"hourly": [1, 2, 3]}, "diurnal.hourly: expected 24 hourly weights, got 3"),
        ({"peak_hour_utc": 25}, "diurnal.peak_hour_utc: expected an hour from 0 to 24"),
        ({"peak_to_trough": 0.5}, "diurnal.peak_to_trough: expected a ratio of at least 1"),
        ({"peak_hours_utc": [13, 30]}, "diurnal.peak_hours_utc[1]: expected an hour from 0 to 24"),
    ],
)
def test_bad_diurnal_keys_are_refused_by_key_path(keys: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected.replace("[", r"\[")):
        validate(Diurnal, keys, source="f.yaml", prefix="diurnal")


@given(
    peak=st.integers(min_value=0, max_value=23),
    ratio=st.floats(min_value=1.0, max_value=50.0, allow_nan=False),
)
def test_cosine_shares_sum_to_one_peak_at_the_peak_hour_and_keep_the_ratio(
    peak: int, ratio: float
) -> None:
    curve = _curve(peak_hour_utc=peak, peak_to_trough=ratio)
    shares = curve.shares
    assert math.fsum(shares) == pytest.approx(1.0, abs=1e-12)
    assert shares[peak] == max(shares)
    trough = (peak + 12) % HOURS
    assert shares[trough] == pytest.approx(min(shares), rel=1e-12)
    assert shares[peak] / shares[trough] == pytest.approx(ratio, rel=1e-9)
    assert sum(curve.weights) / HOURS == pytest.approx(1.0)


@given(
    peak=st.floats(min_value=0.0, max_value=24.0, allow_nan=False),
    ratio=st.floats(min_value=1.0, max_value=50.0, allow_nan=False),
)
def test_a_fractional_peak_hour_keeps_the_busiest_hour_next_to_it(
    peak: float, ratio: float
) -> None:
    assume(ratio > 1.0 + 1e-9)  # a flat day has no busiest hour (float noise picks any)
    shares = _curve(peak_hour_utc=peak, peak_to_trough=ratio).shares
    assert math.fsum(shares) == pytest.approx(1.0, abs=1e-12)
    busiest = max(range(HOURS), key=shares.__getitem__)
    distance = min(abs(busiest - peak), HOURS - abs(busiest - peak))
    assert distance <= 0.5 + 1e-9


@given(weights=st.lists(st.floats(min_value=1e-3, max_value=1e3), min_size=24, max_size=24))
def test_explicit_weights_become_shares_that_sum_to_one(weights: list[float]) -> None:
    curve = _curve(hourly=weights)
    assert math.fsum(curve.shares) == pytest.approx(1.0, abs=1e-12)
    heaviest = max(range(HOURS), key=weights.__getitem__)
    assert curve.shares[heaviest] == max(curve.shares)


def test_thinned_arrivals_follow_the_curve() -> None:
    curve = _curve(peak_hour_utc=12, peak_to_trough=3.0)
    rng = random.Random(7)
    counts = [0] * HOURS
    clock = 0.0
    while True:
        clock = curve.next_arrival(clock, 0.05, rng)
        if clock >= 20 * 86_400.0:
            break
        counts[int(clock // 3600.0) % HOURS] += 1
    assert counts[12] / counts[0] == pytest.approx(3.0, rel=0.1)
    assert math.isinf(curve.next_arrival(0.0, 0.0, rng))
