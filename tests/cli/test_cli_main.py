"""The `fleetgate` application as users run it: every command group present, `python -m
fleetgate`, bad input as one `error:` line with exit status 2, and the CLI's place in the import
graph (typer only under `fleetgate.cli`; the core and the gateway import no shell)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fleetgate.cli.main import build_app, main

SRC = Path(__file__).resolve().parents[2] / "src" / "fleetgate"
GROUPS = {"serve", "keys", "demo", "engine", "perfmodel", "plan", "limits", "fleet", "simulate"}


def test_every_command_group_is_registered() -> None:
    group = typer.main.get_command(build_app())
    assert isinstance(group, typer.core.TyperGroup)
    assert set(group.commands) == GROUPS
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0, result.output


def test_python_dash_m_runs_the_same_application() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fleetgate", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Turns GPU capacity into usage limits" in done.stdout


def test_bad_fleet_file_exits_2_naming_the_file_and_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("server:\n  port: lots\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["keys", "list", "--config", "bad.yaml"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "error: bad.yaml: invalid settings" in err
    assert "server.port: expected a positive integer, got 'lots'" in err
    assert "Traceback" not in err


def _imported(package: str) -> set[str]:
    """Every module named in an import statement anywhere under `fleetgate.<package>`."""
    names: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return names


def _roots(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_only_the_cli_imports_typer() -> None:
    packages = [p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    users = {p for p in packages if p != "cli" and "typer" in _roots(_imported(p))}
    assert users == set()


@pytest.mark.parametrize("package", ["limits", "perfmodel"])
def test_core_packages_import_no_cli_library_or_http_client(package: str) -> None:
    assert _roots(_imported(package)) & {"typer", "rich", "httpx"} == set()


def test_the_gateway_imports_nothing_from_the_api() -> None:
    assert {n for n in _imported("gateway") if n.startswith("fleetgate.api")} == set()
