"""The `fleetgate perfmodel` commands: show, catalog, fidelity, calibrate."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from fleetgate.cli.perfmodel import register
from fleetgate.errors import ConfigurationError

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "examples" / "perfmodel-calibration.csv"


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command()
    def version() -> None:
        """A second command so the group is addressed by name."""

    return application


def test_show_prints_the_replica_and_the_sweep() -> None:
    result = CliRunner().invoke(
        app(), ["perfmodel", "show", "--gpu", "h100", "--model", "llama-3.1-70b@fp8", "--tp", "8"]
    )
    assert result.exit_code == 0, result.output
    assert "llama-3.1-70b@fp8 on 8 x h100-sxm" in result.output
    assert "output tokens/s per GPU" in result.output
    assert "batch sweep" in result.output


def test_show_refuses_unknown_gpu() -> None:
    result = CliRunner().invoke(
        app(), ["perfmodel", "show", "--gpu", "h900", "--model", "llama-3.1-8b"]
    )
    assert isinstance(result.exception, ConfigurationError)
    assert "unknown GPU 'h900'" in result.exception.message


def test_catalog_and_fidelity_tables() -> None:
    runner = CliRunner()
    catalog = runner.invoke(app(), ["perfmodel", "catalog"])
    assert catalog.exit_code == 0 and "gb300" in catalog.output and "deepseek-v3" in catalog.output
    fidelity = runner.invoke(app(), ["perfmodel", "fidelity"])
    assert fidelity.exit_code == 0 and "NO" not in fidelity.output


def test_calibrate_the_example_reports_before_and_after() -> None:
    result = CliRunner().invoke(app(), ["perfmodel", "calibrate", str(EXAMPLE_CSV)])
    assert result.exit_code == 0, result.output
    assert "overall error (MAPE)" in result.output
    assert "before" in result.output and "after" in result.output


def test_calibrate_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app(), ["perfmodel", "calibrate", str(tmp_path / "none.csv")])
    assert isinstance(result.exception, ConfigurationError)
    assert "cannot read" in result.exception.message
