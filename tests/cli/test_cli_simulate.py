"""`fleetgate simulate`: one run with its output files, a what-if comparison, a local sweep."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))

from sim_helpers import scenario, write

from fleetgate.cli.simulate import register


def test_cli_writes_json_csv_and_charts_and_compares(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    path = write(tmp_path, scenario(duration="2m"))
    out = tmp_path / "out"
    runner = CliRunner()
    done = runner.invoke(app, [str(path), "--out", str(out)])
    assert done.exit_code == 0, done.output
    for name in ("result.json", "by_plan.csv", "by_site.csv", "series.csv", "latency.png"):
        assert (out / name).stat().st_size > 0
    other = write(tmp_path, scenario(duration="2m", multipliers={"pro:five_hour": 0.001}), "b.yaml")
    compared = runner.invoke(app, ["--compare", str(path), str(other), "--workers", "2"])
    assert compared.exit_code == 0, compared.output
    assert "refused" in compared.output


def test_cli_sweep_runs_combinations_over_processes(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    path = write(tmp_path, scenario(duration="1m"))
    out = tmp_path / "sweep"
    done = CliRunner().invoke(
        app, [str(path), "--sweep", "seed=1,2", "--workers", "2", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    rows = (out / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("seed,") and len(rows) == 3
    assert (out / "run-1" / "result.json").exists()
