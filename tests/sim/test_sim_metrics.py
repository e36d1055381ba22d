"""Latency histograms, availability in nines, and sweep option parsing."""

from __future__ import annotations

import random

import pytest

from fleetgate.errors import ConfigurationError
from fleetgate.sim.metrics import LogHistogram, availability_nines
from fleetgate.sim.sweep import apply_override, parse_sweep


def test_histogram_percentiles_are_within_one_percent() -> None:
    rng = random.Random(4)
    values = [rng.lognormvariate(-2.0, 1.0) for _ in range(20_000)]
    histogram = LogHistogram()
    for value in values:
        histogram.add(value)
    values.sort()
    for share in (0.5, 0.9, 0.99):
        exact = values[int(share * len(values)) - 1]
        assert histogram.percentile(share) == pytest.approx(exact, rel=0.015)
    assert histogram.mean == pytest.approx(sum(values) / len(values))
    assert LogHistogram().percentile(0.5) == 0.0


def test_nines() -> None:
    assert availability_nines(0.99) == pytest.approx(2.0)
    assert availability_nines(0.99999) == pytest.approx(5.0)
    assert availability_nines(0.991) == pytest.approx(2.046, abs=1e-3)
    assert availability_nines(1.0) == 9.0


def test_sweep_options_give_every_combination() -> None:
    combos = parse_sweep(["seed=1,2", "multipliers.pro:five_hour=1,2.5"])
    assert combos == [
        {"seed": 1, "multipliers.pro:five_hour": 1},
        {"seed": 1, "multipliers.pro:five_hour": 2.5},
        {"seed": 2, "multipliers.pro:five_hour": 1},
        {"seed": 2, "multipliers.pro:five_hour": 2.5},
    ]
    data: dict = {"workload": {"populations": [{"users": 5}]}}
    apply_override(data, "workload.populations[0].users", 9)
    apply_override(data, "multipliers.pro:five_hour", 2)
    assert data["workload"]["populations"][0]["users"] == 9
    assert data["multipliers"] == {"pro:five_hour": 2}
    with pytest.raises(ConfigurationError, match="no such key"):
        apply_override(data, "workload.populations[3].users", 1)
    with pytest.raises(ConfigurationError, match="PATH=V1,V2"):
        parse_sweep(["seed"])
