"""`fleetgate plan` end to end through typer: tables, JSON, HTML, and clean errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "planner"))

from planner_fixtures import ORBITAL_SITE, demand, fleet, write_yaml

from fleetgate.cli.plan import register

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command("version")
    def version() -> None:  # a second command keeps `plan` a subcommand
        typer.echo("test")

    return application


def plan_args(fleet_file: Path, demand_file: Path, *options: str) -> list[str]:
    """`plan FLEET --demand DEMAND OPTIONS...` as CLI arguments."""
    return ["plan", str(fleet_file), "--demand", str(demand_file), *options]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_yaml(tmp_path / "fleet.yaml", fleet()), write_yaml(
        tmp_path / "demand.yaml", demand()
    )


def test_tables(app: typer.Typer, files: tuple[Path, Path]) -> None:
    fleet_file, demand_file = files
    result = CliRunner().invoke(
        app,
        plan_args(fleet_file, demand_file, "--what-if", "no-peak"),
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for title in (
        "Capacity per site and pool",
        "Plan budgets",
        "API tier limits",
        "Availability",
        "Cost per GPU-hour",
        "What if: peak-hour metering off",
    ):
        assert title in result.output
    assert "planned 5,000 GPUs in" in result.output


def test_json(app: typer.Typer, files: tuple[Path, Path], tmp_path: Path) -> None:
    fleet_file, demand_file = files
    orbital = write_yaml(tmp_path / "orbital.yaml", {"sites": [ORBITAL_SITE]})
    result = CliRunner().invoke(
        app,
        plan_args(
            fleet_file,
            demand_file,
            "--json",
            "--lose-largest-site",
            "--refusal-target",
            "0.02",
            "--slo-tpot-ms",
            "60",
            "--what-if",
            f"add-site={orbital}",
        ),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    plan = data["plan"]
    assert plan["refusal_target"] == 0.02 and plan["tpot_ms"] == 60
    assert plan["capacity"]["lost_site"] == "west"  # 1,000 H100 serving the 8B model
    assert plan["summary"]["gpus"] == 5000
    assert len(plan["subscriptions"]["plans"]) == 2
    assert data["what_if"][0]["after"]["capacity"]["sites"][2]["orbital"]["altitude_km"] == 650


def test_html_report(app: typer.Typer, files: tuple[Path, Path], tmp_path: Path) -> None:
    fleet_file, demand_file = files
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        plan_args(
            fleet_file, demand_file, "--html", str(out), "--what-if", "multiplier=all:five_hour:2"
        ),
    )
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "capacity-vs-demand.png" in page and "Plan budgets" in page
    for chart in ("capacity-vs-demand.png", "limits-before-after.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _fails(app: typer.Typer, args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


def test_bad_inputs_exit_2_with_the_key_path(
    app: typer.Typer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    fleet_file, demand_file = files
    negative = fleet()
    negative["sites"][0]["pools"][0]["gpus"] = -4  # type: ignore[index]
    bad_fleet = write_yaml(tmp_path / "negative.yaml", negative)
    output = _fails(app, plan_args(bad_fleet, demand_file))
    assert "sites[0].pools[0].gpus: expected a positive integer, got -4" in output

    missing = demand()
    del missing["model_mix"]
    bad_demand = write_yaml(tmp_path / "missing.yaml", missing)
    output = _fails(app, plan_args(fleet_file, bad_demand))
    assert "model_mix: required key is missing" in output

    unserved = write_yaml(tmp_path / "unserved.yaml", demand(model_mix={"opus": 1.0}))
    output = _fails(app, plan_args(fleet_file, unserved))
    assert "model_mix.opus: unknown model" in output

    output = _fails(app, plan_args(fleet_file, demand_file, "--what-if", "x"))
    assert "--what-if x" in output
    output = _fails(app, plan_args(fleet_file, demand_file, "--refusal-target", "0.9"))
    assert "--refusal-target" in output
    output = _fails(app, plan_args(tmp_path / "nope.yaml", demand_file))
    assert "cannot read" in output


def test_the_story_example_files_plan(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app,
        plan_args(
            EXAMPLES / "fleet-colossus.yaml",
            EXAMPLES / "demand-colossus.yaml",
            "--json",
            "--what-if",
            f"add-site={EXAMPLES / 'fleet-orbital.yaml'}",
        ),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["plan"]["summary"]["gpus"] > 200_000
    assert data["elapsed_s"] < 5.0
