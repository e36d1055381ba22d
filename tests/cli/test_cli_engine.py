"""`fleetgate engine`: flags into `EngineOptions`, the roofline timer option, and serving in a
process of its own."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
from typer import Typer
from typer.testing import CliRunner

from conftest import free_port, wait_for_port
from fleetgate.cli import engine as command
from fleetgate.cli.engine import options_from_cli, roofline_timer_from_cli
from fleetgate.engine.options import EngineOptions
from fleetgate.errors import ConfigurationError


def _cli_app() -> Typer:
    app = Typer()
    app.callback()(lambda: None)  # a group, as in fleetgate.cli.main, so `engine` is a subcommand
    command.register(app)
    return app


def test_engine_command_builds_options_from_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[EngineOptions] = []
    monkeypatch.setattr(command, "run_engine", seen.append)
    result = CliRunner().invoke(
        _cli_app(),
        [
            "engine",
            "--port",
            "9123",
            "--model",
            "a,b",
            "--model",
            "c",
            "--max-batch",
            "4",
            "--max-prefill-tokens",
            "512",
            "--error-rate",
            "0.25",
            "--close-after-tokens",
            "5",
            "--hang",
            "--instant",
        ],
    )
    assert result.exit_code == 0, result.output
    options = seen[0]
    assert options.port == 9123
    assert options.models == ("a", "b", "c")
    assert options.max_batch == 4
    assert options.max_prefill_tokens == 512
    assert options.instant
    assert options.faults.error_rate == 0.25
    assert options.faults.close_after_tokens == 5
    assert options.faults.hang


def test_bad_command_line_values_raise_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(command, "run_engine", lambda options: None)
    result = CliRunner().invoke(_cli_app(), ["engine", "--max-batch", "0"])
    assert isinstance(result.exception, ConfigurationError)
    assert "--max-batch: expected a positive integer, got 0" in result.exception.message


_SERVE = (
    "import sys, typer\n"
    "from fleetgate.cli import engine as command\n"
    "app = typer.Typer()\n"
    "app.callback()(lambda: None)\n"
    "command.register(app)\n"
    "app(args=sys.argv[1:])\n"
)


def test_the_engine_command_serves_in_its_own_process() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SERVE,
            "engine",
            "--port",
            str(port),
            "--instant",
            "--model",
            "proc-model",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["proc-model"]
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert process.returncode in (0, -15), err.decode()


def test_engine_command_builds_the_roofline_timer() -> None:
    assert roofline_timer_from_cli(None, None, 1, 64) is None
    timer = roofline_timer_from_cli("h200", "llama-3.1-8b", 1, 64)
    assert timer is not None and timer.max_batch == 64
    with pytest.raises(ConfigurationError, match="must be given together"):
        roofline_timer_from_cli("h200", None, 1, 64)


def test_options_from_cli_name_the_option_and_merge_models() -> None:
    with pytest.raises(ConfigurationError, match="--error-rate"):
        options_from_cli(_cli_values(error_rate=1.5))
    options = options_from_cli(_cli_values(model=["a,b", "c", "a"]))
    assert options.models == ("a", "b", "c")
    assert options.metrics_model_name == "a"


def _cli_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "port": 0,
        "host": "127.0.0.1",
        "model": None,
        "max_model_len": 1000,
        "output_tokens": 8,
        "instant": False,
        "max_batch": 4,
        "kv_capacity_tokens": 5000,
        "prefill_tokens_per_s": 1000.0,
        "decode_step_ms": 1.0,
        "decode_step_ms_per_seq": 0.0,
        "decode_step_ms_per_1k_kv": 0.0,
        "error_rate": 0.0,
        "extra_latency_ms": 0.0,
        "hang": False,
        "close_after_tokens": None,
        "unhealthy": False,
        "seed": 0,
    }
    values.update(overrides)
    return values
