"""Sweeps over a real local Ray cluster: the same results as over local processes, from any
folder, with a trace CSV travelling with its scenario; and the CLI's `--ray` table."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sim_helpers import scenario, write
from typer.testing import CliRunner

from conftest import IN_CI, free_port
from fleetgate.cli.simulate import register
from fleetgate.sim import sweep
from fleetgate.sim.sweep import parse_sweep, run_file, run_many

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A Ray head on 127.0.0.1 with two CPUs, started with the CLI; its address."""
    try:
        import ray  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("ray is not installed: pip install -e '.[dev]'")
        pytest.skip("ray is not installed")
    # Ray's socket paths live under the temp dir and must stay short: not under tmp_path
    temp = tempfile.mkdtemp(prefix="fgray-")
    port = free_port()
    args = [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--head",
        "--node-ip-address",
        "127.0.0.1",
        "--port",
        str(port),
        "--num-cpus",
        "2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        "--temp-dir",
        temp,
    ]
    log_path = Path(temp) / "ray-start.log"
    with log_path.open("wb") as log:
        # its own session: every process of the cluster (workers too) is in it
        head = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        code = head.wait(timeout=60)
        assert code == 0, log_path.read_text(encoding="utf-8", errors="replace")
        yield f"127.0.0.1:{port}"
    finally:
        _kill_session(head.pid)
        shutil.rmtree(temp, ignore_errors=True)


def _session_members(session: int) -> list[int]:
    """Every process of `session` (Linux: /proc/PID/stat)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session:
            members.append(int(stat.parent.name))
    return members


def _kill_session(session: int) -> None:
    """SIGKILL every process the Ray head started; wait until they are gone."""
    if not Path("/proc/self/stat").exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session, signal.SIGKILL)  # workers may linger until the raylet is gone
        return
    deadline = time.monotonic() + 15
    while (members := _session_members(session)) and time.monotonic() < deadline:
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def _hide_files_from_workers(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Move `folder` away once the driver has loaded the sweep, until the Ray runs are done:
    the workers get nothing but what the driver sends them."""
    ray_runs = sweep._run_on_ray

    def hidden(*args: Any) -> list[dict[str, Any]]:
        away = folder.rename(folder.with_name(folder.name + "-hidden"))
        try:
            return ray_runs(*args)
        finally:
            away.rename(folder)

    monkeypatch.setattr(sweep, "_run_on_ray", hidden)


def test_a_ray_sweep_equals_the_same_sweep_over_processes(
    ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "examples"
    folder.mkdir()
    for name in ("scenario-small.yaml", "fleet-small.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    monkeypatch.chdir(tmp_path)
    _hide_files_from_workers(monkeypatch, folder)
    combos = parse_sweep(["seed=1,2", "duration=10m"])
    done: list[int] = []
    path = "examples/scenario-small.yaml"
    over_ray = run_many(path, combos, None, 1, ray_address=ray_head, on_done=done.append)
    assert done == [1, 2]
    local = run_many(path, combos, None, 2)
    assert over_ray == local
    assert over_ray[0] == run_file(path, combos[0])
    assert [r["overrides"] for r in over_ray] == combos
    assert over_ray[0]["total"]["requests"] != over_ray[1]["total"]["requests"]


def test_a_trace_csv_travels_with_its_scenario_to_ray(
    ray_head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    lines = ["timestamp,tenant,model,input_tokens,output_tokens"]
    lines += [f"{1_780_000_000 + i * 0.5},acme,m-small,500,50" for i in range(120)]
    (folder / "trace.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    workload = {**scenario()["workload"], "trace": {"path": "trace.csv"}}
    write(folder, scenario(duration="2m", workload=workload))
    monkeypatch.chdir(tmp_path)
    _hide_files_from_workers(monkeypatch, folder)
    combos = parse_sweep(["seed=1,2"])
    over_ray = run_many("scenarios/scenario.yaml", combos, None, 1, ray_address=ray_head)
    local = run_many("scenarios/scenario.yaml", combos, None, 2)
    assert over_ray == local
    assert over_ray[0] == run_file("scenarios/scenario.yaml", combos[0])
    assert [r["by_plan"]["acme"]["requests"] for r in over_ray] == [120, 120]


def test_cli_sweep_over_ray_prints_the_table(
    ray_head: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    app = typer.Typer()
    register(app)
    args = [
        "examples/scenario-small.yaml",
        "--sweep",
        "seed=1,2",
        "--sweep",
        "duration=5m",
        "--ray",
        ray_head,
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert f"sweep: 2 runs over Ray {ray_head}" in done.output
    rows = [line for line in done.output.splitlines() if "5m" in line]
    assert len(rows) == 2, done.output
