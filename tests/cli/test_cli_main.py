"""The `fleetgate` application as users run it: every command group present, `python -m
fleetgate`, bad input as one `error:` line with exit status 2. (The CLI's place in the import
graph is checked with the other package rules in tests/project/test_architecture.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fleetgate.cli.main import build_app, main

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
