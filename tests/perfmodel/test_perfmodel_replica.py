"""Replica throughput and latency at a target TPOT/TTFT, against hand-computed values."""

from __future__ import annotations

import math
import time

import pytest
from perfmodel_helpers import round_catalog

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.catalog import get_gpu, get_model
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.replica import operating_point, replica_performance

IDEAL = Efficiency(1.0, 1.0, 0.0, 0.0, 0.9)
CATALOG = round_catalog()
GPU = CATALOG.gpu("testgpu")
DENSE = CATALOG.model("dense10")


def test_operating_point_by_hand() -> None:
    point = operating_point(GPU, DENSE, 1, IDEAL, batch=10, prompt_tokens=1000, output_tokens=100)
    # t_pre = 0.2002 s; t_dec at 10 * 1050 context tokens = 0.02 + 10500 * 8000 / 1e12
    t_pre, t_dec = 0.2002, 0.02 + 0.000084
    lifetime = 100 * t_dec + 10 * t_pre  # 4.0104 s
    rate = 10 / lifetime
    rho = rate * t_pre
    assert point.decode_step_s == pytest.approx(t_dec)
    assert point.tpot_s == pytest.approx(lifetime / 100)
    assert point.requests_per_s == pytest.approx(rate)
    assert point.ttft_s == pytest.approx(t_pre + t_dec / 2 + rho * t_pre / (2 * (1 - rho)))


def test_largest_batch_meeting_tpot() -> None:
    perf = replica_performance(
        GPU,
        DENSE,
        1,
        target_tpot_s=0.05,
        target_ttft_s=None,
        mean_prompt_tokens=1000,
        mean_output_tokens=100,
        efficiency=IDEAL,
    )
    assert perf.limited_by == "tpot"
    assert perf.meets_targets
    assert perf.tpot_s <= 0.05
    above = operating_point(
        GPU, DENSE, 1, IDEAL, batch=perf.batch + 1, prompt_tokens=1000, output_tokens=100
    )
    assert above.tpot_s > 0.05
    assert perf.output_tokens_per_s == pytest.approx(perf.requests_per_s * 100)
    assert perf.input_tokens_per_s == pytest.approx(perf.requests_per_s * 1000)
    assert perf.output_tokens_per_s_per_gpu == perf.output_tokens_per_s


def test_unconstrained_batch_stops_at_the_cap_or_kv_capacity() -> None:
    capped = replica_performance(
        GPU,
        DENSE,
        1,
        target_tpot_s=None,
        target_ttft_s=math.inf,
        mean_prompt_tokens=1000,
        mean_output_tokens=100,
        efficiency=IDEAL,
        max_batch=64,
    )
    assert (capped.batch, capped.limited_by) == (64, "batch_cap")
    h100 = replica_performance(
        get_gpu("h100"),
        get_model("llama-3.1-70b@fp8"),
        1,
        target_tpot_s=None,
        target_ttft_s=None,
        mean_prompt_tokens=4000,
        mean_output_tokens=1000,
        max_batch=4096,
    )
    assert h100.limited_by == "kv_capacity"
    assert h100.batch == h100.kv_capacity_tokens // 4500


def test_per_gpu_rates_divide_by_tensor_parallel() -> None:
    perf = replica_performance(
        get_gpu("h100"),
        get_model("llama-3.1-70b"),
        8,
        target_tpot_s=0.05,
        target_ttft_s=2.0,
        mean_prompt_tokens=1000,
        mean_output_tokens=300,
    )
    assert perf.output_tokens_per_s_per_gpu == pytest.approx(perf.output_tokens_per_s / 8)
    assert perf.requests_per_s_per_gpu == pytest.approx(perf.requests_per_s / 8)


def test_unreachable_target_gives_zero_capacity_not_an_error() -> None:
    perf = replica_performance(
        GPU,
        DENSE,
        1,
        target_tpot_s=0.001,
        target_ttft_s=None,
        mean_prompt_tokens=1000,
        mean_output_tokens=100,
        efficiency=IDEAL,
    )
    assert (perf.batch, perf.meets_targets, perf.limited_by) == (0, False, "tpot")
    assert perf.output_tokens_per_s == 0.0
    assert perf.tpot_s > 0.001


def test_tighter_tpot_never_raises_throughput() -> None:
    rates = [
        replica_performance(
            get_gpu("h200"),
            get_model("llama-3.1-70b@fp8"),
            2,
            target_tpot_s=target,
            target_ttft_s=2.0,
            mean_prompt_tokens=2000,
            mean_output_tokens=500,
        ).output_tokens_per_s
        for target in (0.02, 0.03, 0.05, 0.1, 0.2)
    ]
    assert rates == sorted(rates)
    assert rates[0] < rates[-1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean_prompt_tokens": -5}, "mean_prompt_tokens: expected a positive number"),
        ({"mean_output_tokens": 0}, "mean_output_tokens: expected a positive number"),
        ({"target_tpot_s": -1.0}, "target_tpot_s: expected a positive number"),
        ({"max_batch": 0}, "max_batch: expected an integer >= 1"),
        ({"mean_prompt_tokens": 9e9}, "does not fit the KV cache"),
    ],
)
def test_bad_inputs_are_refused(kwargs: dict[str, float], message: str) -> None:
    arguments: dict[str, float | None] = {
        "target_tpot_s": 0.05,
        "target_ttft_s": 2.0,
        "mean_prompt_tokens": 1000,
        "mean_output_tokens": 100,
    }
    arguments.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        replica_performance(GPU, DENSE, 1, **arguments)  # type: ignore[arg-type]


def test_negative_tensor_parallel_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="tensor_parallel"):
        replica_performance(
            GPU,
            DENSE,
            -2,
            target_tpot_s=0.05,
            target_ttft_s=2.0,
            mean_prompt_tokens=1000,
            mean_output_tokens=100,
        )


def test_fast_enough_for_fleet_planning() -> None:
    gpus = [get_gpu(name) for name in ("h100", "h200", "gb200")]
    model = get_model("llama-3.1-70b@fp8")
    started = time.perf_counter()
    for _ in range(20):
        for gpu in gpus:
            replica_performance(
                gpu,
                model,
                8,
                target_tpot_s=0.05,
                target_ttft_s=2.0,
                mean_prompt_tokens=2000,
                mean_output_tokens=400,
            )
    # 60 calls; a planner makes one per (gpu, model, tp): generous bound for a loaded CI box
    assert time.perf_counter() - started < 2.0
