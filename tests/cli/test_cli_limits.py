"""`fleetgate limits show` and `fleetgate limits multiplier set|list`."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fleetgate.cli import limits as command
from fleetgate.errors import ConfigurationError
from fleetgate.limits.stores import guard
from fleetgate.limits.stores.memory import AsyncMemoryStore


def app() -> typer.Typer:
    root = typer.Typer()
    command.register(root)
    return root


def fleet(tmp_path: Path, store: str) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(f"limits:\n  store: '{store}'\n", encoding="utf-8")
    return path


def test_show_lists_shipped_plans_and_tiers(tmp_path: Path) -> None:
    config = str(fleet(tmp_path, "memory://"))
    result = CliRunner().invoke(app(), ["limits", "show", "-c", config], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("max-20x", "team-premium", "tier-4-raised", "10,000,000", "scale"):
        assert name in result.output


def test_multiplier_set_refuses_the_in_process_store(tmp_path: Path) -> None:
    config = fleet(tmp_path, "memory://")
    result = CliRunner().invoke(
        app(), ["limits", "multiplier", "set", "pro", "five_hour", "x2", "-c", str(config)]
    )
    assert isinstance(result.exception, ConfigurationError)
    assert "admin API" in result.exception.message


def test_multiplier_set_and_list_through_a_shared_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = AsyncMemoryStore()
    monkeypatch.setattr(guard, "store_from_uri", lambda uri: shared)
    config = str(fleet(tmp_path, "redis://127.0.0.1:1/0"))
    runner = CliRunner()
    result = runner.invoke(
        app(), ["limits", "multiplier", "set", "max-5x", "five_hour", "x2", "-c", config]
    )
    assert result.exit_code == 0, result.output
    assert "max-5x" in result.output and "x2" in result.output
    listed = runner.invoke(app(), ["limits", "multiplier", "list", "-c", config])
    assert "five_hour" in listed.output
    bad = runner.invoke(
        app(), ["limits", "multiplier", "set", "max-5x", "hourly", "2", "-c", config]
    )
    assert bad.exit_code == 2 and "window: expected one of" in bad.output
    worse = runner.invoke(
        app(), ["limits", "multiplier", "set", "max-5x", "five_hour", "lots", "-c", config]
    )
    assert worse.exit_code == 2 and "expected a factor" in worse.output


@pytest.mark.parametrize(
    ("text", "factor"), [("2", 2.0), ("x2", 2.0), ("×1.5", 1.5), (" X3 ", 3.0)]
)
def test_factor_spellings(text: str, factor: float) -> None:
    assert command.parse_factor(text) == factor
