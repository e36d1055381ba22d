"""Batching as clients see it, the instant mode, and the `fleetgate engine` command."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import openai
import pytest
from engine_testkit import RunningEngine, running_engine, user
from typer import Typer
from typer.testing import CliRunner

from conftest import free_port, wait_for_port
from fleetgate.engine import command
from fleetgate.engine.options import EngineOptions
from fleetgate.errors import ConfigurationError


async def _time_to_first_token(client: openai.AsyncOpenAI, index: int) -> float:
    started = time.monotonic()
    stream = await client.chat.completions.create(
        model="fleetgate-sim", messages=user(f"request {index}"), max_tokens=10, stream=True
    )
    first: float | None = None
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic() - started
    assert first is not None
    return first


async def _load_with_probe(engine: RunningEngine) -> tuple[list[float], int]:
    peak_waiting = 0
    async with engine.async_client(timeout=30) as client, httpx.AsyncClient(timeout=5) as http:
        requests = [asyncio.create_task(_time_to_first_token(client, index)) for index in range(8)]
        while not all(task.done() for task in requests):
            text = (await http.get(f"{engine.url}/metrics")).text
            for line in text.splitlines():
                if line.startswith("vllm:num_requests_waiting{"):
                    peak_waiting = max(peak_waiting, int(float(line.split()[-1])))
            await asyncio.sleep(0.02)
        return [task.result() for task in requests], peak_waiting


def test_max_batch_queues_requests_and_later_ones_wait_longer() -> None:
    with running_engine(max_batch=2, decode_step_ms=20.0) as engine:
        ttfts, peak_waiting = asyncio.run(_load_with_probe(engine))
    assert peak_waiting > 0
    ttfts.sort()
    # four waves of two; each wave decodes ten 20 ms steps, so the last wave waits >= 0.6 s
    assert ttfts[-1] > ttfts[0] + 0.3


def test_instant_mode_answers_without_the_scheduler() -> None:
    with running_engine(instant=True, output_tokens=500) as engine:
        started = time.monotonic()
        with engine.client(timeout=5) as client:
            answer = client.chat.completions.create(model="fleetgate-sim", messages=user("x"))
            chunks = list(
                client.chat.completions.create(
                    model="fleetgate-sim", messages=user("x"), stream=True
                )
            )
        assert time.monotonic() - started < 5
        assert answer.usage is not None
        assert answer.usage.completion_tokens == 500
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == answer.choices[0].message.content
        assert engine.metric("vllm:num_requests_running") == 0
        assert engine.metric("vllm:generation_tokens_total") == 1000


def _cli_app() -> Typer:
    app = Typer()
    app.callback()(lambda: None)  # a group, as in fleetgate.cli, so `engine` is a subcommand
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
    "from fleetgate.engine import command\n"
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
