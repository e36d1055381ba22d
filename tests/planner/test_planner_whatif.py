"""What-if parsing and application."""

from __future__ import annotations

from pathlib import Path

import pytest
from planner_fixtures import DEMAND, ORBITAL_SITE, fleet, write_yaml

from fleetgate.errors import ConfigurationError
from fleetgate.planner.demand import demand_from_mapping
from fleetgate.planner.plan import PlanOptions, make_plan
from fleetgate.planner.whatif import apply_what_if, compare, parse_what_if
from fleetgate.settings import settings_from_mapping

SETTINGS = settings_from_mapping(fleet())
DEMAND_OK = demand_from_mapping(DEMAND)


@pytest.mark.parametrize(
    "text",
    [
        "bogus",
        "no-peak=1",
        "add-site=",
        "multiplier=pro:daily:2",
        "multiplier=pro:five_hour:-1",
        "multiplier=pro:five_hour:x",
        "multiplier=pro",
    ],
)
def test_bad_spellings_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="--what-if"):
        parse_what_if(text)


def test_multiplier_scales_offered_budgets() -> None:
    _, doubled = apply_what_if(SETTINGS, DEMAND_OK, parse_what_if("multiplier=all:five_hour:2"))
    assert [p.five_hour_multiplier for p in doubled.plans] == [2.0, 10.0]
    _, pro_weekly = apply_what_if(SETTINGS, DEMAND_OK, parse_what_if("multiplier=pro:weekly:3"))
    assert [p.weekly_multiplier for p in pro_weekly.plans] == [3.0, 5.0]
    with pytest.raises(ConfigurationError, match="unknown plan 'gold'"):
        apply_what_if(SETTINGS, DEMAND_OK, parse_what_if("multiplier=gold:weekly:3"))


def test_no_peak_switches_metering_off() -> None:
    _, changed = apply_what_if(SETTINGS, DEMAND_OK, parse_what_if("no-peak"))
    assert DEMAND_OK.peak_metering.enabled and not changed.peak_metering.enabled


def test_add_and_remove_sites(tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "orbital.yaml", {"sites": [ORBITAL_SITE]})
    added, _ = apply_what_if(SETTINGS, DEMAND_OK, parse_what_if(f"add-site={file}"))
    assert [site.id for site in added.sites] == ["east", "west", "orbit-1"]
    lone = write_yaml(tmp_path / "lone.yaml", ORBITAL_SITE)
    added_lone, _ = apply_what_if(SETTINGS, DEMAND_OK, parse_what_if(f"add-site={lone}#orbit-1"))
    assert added_lone.sites[-1].kind == "orbital"
    removed, _ = apply_what_if(SETTINGS, DEMAND_OK, parse_what_if("remove-site=west"))
    assert [site.id for site in removed.sites] == ["east"]
    with pytest.raises(ConfigurationError, match="unknown site; known: east, west"):
        apply_what_if(SETTINGS, DEMAND_OK, parse_what_if("remove-site=moon"))
    with pytest.raises(ConfigurationError, match="no site with id 'moon'"):
        apply_what_if(SETTINGS, DEMAND_OK, parse_what_if(f"add-site={file}#moon"))


def test_adding_a_duplicate_site_names_the_problem(tmp_path: Path) -> None:
    duplicate = dict(ORBITAL_SITE, id="east")
    file = write_yaml(tmp_path / "dup.yaml", {"sites": [duplicate]})
    with pytest.raises(ConfigurationError, match=r"sites\[2\]\.id: duplicate id 'east'"):
        apply_what_if(SETTINGS, DEMAND_OK, parse_what_if(f"add-site={file}"))


def test_compare_lines_up_before_and_after(tmp_path: Path) -> None:
    baseline = make_plan(SETTINGS, DEMAND_OK, PlanOptions())
    file = write_yaml(tmp_path / "orbital.yaml", {"sites": [ORBITAL_SITE]})
    comparison = compare(
        SETTINGS, DEMAND_OK, PlanOptions(), parse_what_if(f"add-site={file}"), baseline
    )
    rows = {row.metric: row for row in comparison.rows}
    assert rows["GPUs"].after == rows["GPUs"].before + 8000
    assert rows["usable output tokens/s"].after > rows["usable output tokens/s"].before
    doubled = compare(
        SETTINGS, DEMAND_OK, PlanOptions(), parse_what_if("multiplier=all:five_hour:2"), baseline
    )
    rows = {row.metric: row for row in doubled.rows}
    assert rows["Pro 5-hour budget offered"].after == 2 * rows["Pro 5-hour budget offered"].before
    assert (
        rows["peak utilization at offered limits"].after
        > rows["peak utilization at offered limits"].before
    )
