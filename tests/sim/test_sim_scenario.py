"""Scenario validation: key-path errors for bad values and references the fleet lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import scenario, write

from fleetgate.errors import ConfigurationError
from fleetgate.sim.scenario import load_scenario
from fleetgate.sim.scenario_types import parse_duration


def test_durations_take_units() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200
    assert parse_duration(12.5) == 12.5


def test_a_good_scenario_loads(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, scenario()), seed=11)
    assert loaded.scenario.duration == 600
    assert loaded.scenario.seed == 11
    assert [site.id for site in loaded.settings.sites] == ["east", "west"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration": "soon"}, "duration: expected a duration"),
        (
            {
                "workload": {
                    "model_mix": {"m-small": 1},
                    "populations": [{"plan": "pro", "users": -3}],
                }
            },
            "workload.populations[0].users: expected a non-negative integer, got -3",
        ),
        (
            {"workload": {"model_mix": {"nope": 1}, "populations": [{"plan": "pro", "users": 3}]}},
            "workload.model_mix.nope: unknown model",
        ),
        (
            {"faults": {"outages": [{"site": "mars", "at": 0, "duration": 10}]}},
            "faults.outages[0].site: unknown site 'mars'",
        ),
        (
            {"faults": {"slowdowns": [{"site": "east", "at": 0, "duration": "x"}]}},
            "faults.slowdowns[0].duration: expected a duration",
        ),
        (
            {
                "workload": {
                    "model_mix": {"m-small": 1},
                    "populations": [{"plan": "pro", "tier": "tier-1", "users": 3}],
                }
            },
            "give a plan or a tier, not both",
        ),
        ({"surprise": 1}, "surprise: unknown key"),
    ],
)
def test_bad_scenarios_name_the_key_path(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_scenario(write(tmp_path, scenario(**change)))
    assert message in caught.value.message


def test_a_missing_fleet_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_scenario(write(tmp_path, scenario(fleet="missing.yaml")))


def test_an_unknown_plan_is_named_when_the_run_is_built(tmp_path: Path) -> None:
    from fleetgate.sim.simulation import Simulation

    data = scenario()
    data["workload"]["populations"][0]["plan"] = "platinum"
    loaded = load_scenario(write(tmp_path, data))
    with pytest.raises(ConfigurationError, match=r"workload.populations\[0\].plan: expected one"):
        Simulation(loaded)


def test_warmup_must_be_shorter_than_the_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="warmup: must be shorter"):
        load_scenario(write(tmp_path, scenario(warmup="20m")))
