"""Whole runs: determinism, the real limiter refusing, faults failing over, sweeps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sim_helpers import scenario, write

from fleetgate.errors import ConfigurationError
from fleetgate.sim.sweep import run_file, run_many


def test_same_seed_same_result_and_another_seed_differs(tmp_path: Path) -> None:
    path = str(write(tmp_path, scenario(duration="3m")))
    first, second = run_file(path), run_file(path)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["total"]["completed"] > 100
    other = run_file(path, seed=99)
    assert other["total"]["requests"] != first["total"]["requests"]


def test_the_tier_limiter_refuses_an_organization_over_its_rpm(tmp_path: Path) -> None:
    # tier-1 allows 50 requests per minute; acme sends one per second on average
    result = run_file(str(write(tmp_path, scenario(duration="5m"))))
    acme = result["by_plan"]["acme-api"]
    assert acme["refused"] > 0
    assert set(acme["refused_by_limit"]) <= {"requests", "input_tokens", "output_tokens"}
    assert result["run"]["limit_decisions"] > result["total"]["requests"]


def test_plan_multiplier_lifts_five_hour_refusals(tmp_path: Path) -> None:
    base = scenario(duration="5m", multipliers={"pro:five_hour": 0.001})
    refused = run_file(str(write(tmp_path, base)))["by_plan"]["pro"]["refused_by_limit"]
    assert refused.get("five_hour", 0) > 0
    roomy = run_file(str(write(tmp_path, scenario(duration="5m"), "b.yaml")))
    assert roomy["by_plan"]["pro"]["refused_by_limit"].get("five_hour", 0) == 0


def test_an_outage_cuts_streams_then_traffic_moves_to_the_other_site(tmp_path: Path) -> None:
    faults = {"outages": [{"site": "east", "at": "1m", "duration": "2m"}]}
    result = run_file(str(write(tmp_path, scenario(duration="4m", faults=faults))))
    assert result["by_site"]["east"]["failed"] > 0
    assert result["total"]["availability"] < 1.0
    rows = {row["t_s"]: row for row in result["series"]}
    assert rows[120.0]["down:east"] == 1 and rows[120.0]["util:east"] == 0.0
    assert rows[240.0]["down:east"] == 0 and rows[240.0]["util:east"] > 0.0


def test_an_error_burst_fails_over_before_the_first_byte(tmp_path: Path) -> None:
    faults = {"error_bursts": [{"site": "east", "at": "30s", "duration": "2m", "error_rate": 0.5}]}
    result = run_file(str(write(tmp_path, scenario(duration="3m", faults=faults))))
    total = result["total"]
    assert total["retried_attempts"] > 0
    assert total["completed"] > 0.95 * (total["requests"] - total["refused"])


def test_a_trace_is_replayed_through_limits_and_routing(tmp_path: Path) -> None:
    lines = ["timestamp,tenant,model,input_tokens,output_tokens"]
    lines += [f"{1_780_000_000 + i * 0.5},acme,m-small,500,50" for i in range(120)]
    (tmp_path / "trace.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = scenario(duration="2m", workload={"trace": {"path": "trace.csv"}})
    result = run_file(str(write(tmp_path, data)))
    acme = result["by_plan"]["acme"]
    assert acme["requests"] == 120
    assert acme["completed"] + acme["refused"] == 120
    assert acme["refused"] > 0  # tier-1: 50 requests per minute, the trace sends 120 in one


def test_a_bad_trace_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "trace.csv").write_text(
        "timestamp,tenant,model,input_tokens,output_tokens\n0,acme,m-small,lots,5\n",
        encoding="utf-8",
    )
    data = scenario(duration="2m", workload={"trace": {"path": "trace.csv"}})
    with pytest.raises(ConfigurationError, match=r"trace.csv:2: input_tokens: expected"):
        run_file(str(write(tmp_path, data)))


def test_a_trace_that_is_not_utf8_is_refused_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "trace.csv").write_bytes(
        b"timestamp,tenant,model,input_tokens,output_tokens\n0,acme,m-small,5,5\n"
        b"1,acme\xff,m-small,5,5\n"
    )
    data = scenario(duration="2m", workload={"trace": {"path": "trace.csv"}})
    with pytest.raises(ConfigurationError, match=r"trace.csv:3: not UTF-8 text"):
        run_file(str(write(tmp_path, data)))


def test_radiation_upsets_crash_engines_that_restart(tmp_path: Path) -> None:
    faults = {"radiation": [{"site": "east", "upsets_per_gpu_hour": 30, "restart": "20s"}]}
    result = run_file(str(write(tmp_path, scenario(duration="3m", faults=faults))))
    assert result["run"]["faults"] > 10
    east = result["by_site"]["east"]
    assert east["completed"] > 0
    assert result["total"]["failed"] + result["total"]["retried_attempts"] > 0


def test_ray_without_ray_installed_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    path = str(write(tmp_path, scenario(duration="1m")))
    with pytest.raises(ConfigurationError, match=r"fleetgate\[ray\]"):
        run_many(path, [{}], None, 1, ray_address="127.0.0.1:6379")


def test_a_sweep_refuses_a_bad_run_before_fanning_out(tmp_path: Path) -> None:
    path = str(write(tmp_path, scenario(duration="1m")))
    # no cluster answers at this address: the refusal comes from loading, on the driver
    with pytest.raises(ConfigurationError, match=r"duration"):
        run_many(path, [{"seed": 1}, {"duration": "-5m"}], None, 1, ray_address="127.0.0.1:1")
    data = scenario(duration="1m", workload={"trace": {"path": "missing.csv"}})
    with pytest.raises(ConfigurationError, match=r"missing.csv: cannot read"):
        run_many(str(write(tmp_path, data, "b.yaml")), [{}], None, 2, ray_address="127.0.0.1:1")


def test_a_sweep_names_a_bad_trace_line_like_a_single_run(tmp_path: Path) -> None:
    (tmp_path / "trace.csv").write_text(
        "timestamp,tenant,model,input_tokens,output_tokens\n0,acme,m-small,lots,5\n",
        encoding="utf-8",
    )
    data = scenario(duration="2m", workload={"trace": {"path": "trace.csv"}})
    path = str(write(tmp_path, data))
    with pytest.raises(ConfigurationError, match=r"trace.csv:2: input_tokens: expected"):
        run_many(path, [{}, {"seed": 4}], None, 1)


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    import hashlib
    import os
    import subprocess

    path = write(tmp_path, scenario(duration="1m"))
    code = (
        "import json, sys; from fleetgate.sim.sweep import run_file; "
        "print(json.dumps(run_file(sys.argv[1]), sort_keys=True))"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], env=env, capture_output=True, check=True
        )
        digests.add(hashlib.sha256(done.stdout).hexdigest())
    assert len(digests) == 1
