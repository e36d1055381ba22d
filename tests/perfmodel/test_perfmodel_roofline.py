"""Roofline formulas against hand-computed values (round test GPU: 100 GB, 1 TB/s, 100 TFLOP/s
BF16; dense model: 10 B params, 10 layers, attention 10 x 100, 2 KV heads, BF16)."""

from __future__ import annotations

import pytest
from perfmodel_helpers import round_catalog

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.catalog import get_gpu, get_model
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.roofline import (
    decode_step_seconds,
    kv_capacity_tokens,
    prefill_seconds,
    replica_kv_bytes_per_token,
)
from fleetgate.perfmodel.step_timer import RooflineStepTimer
from fleetgate.seams import StepTimer

IDEAL = Efficiency(
    compute_efficiency=1.0,
    bandwidth_efficiency=1.0,
    step_overhead_s=0.0,
    tp_comm_penalty=0.0,
    memory_utilization=0.9,
)
CATALOG = round_catalog()
GPU = CATALOG.gpu("testgpu")
DENSE = CATALOG.model("dense10")


def test_kv_bytes_and_capacity() -> None:
    # 2 * 10 layers * 2 heads * 100 dims * 2 bytes
    assert DENSE.kv_bytes_per_token == 8000
    # (100 GB * 0.9 - 20 GB weights) / 8000 B
    assert kv_capacity_tokens(GPU, DENSE, 1, IDEAL) == 8_750_000


def test_tensor_parallel_beyond_kv_heads_replicates_kv() -> None:
    assert replica_kv_bytes_per_token(DENSE, 2) == 8000
    assert replica_kv_bytes_per_token(DENSE, 4) == 16_000  # 4 ranks, 2 heads: 2 copies
    # (4 * 100 GB * 0.9 - 20 GB) / 16000 B
    assert kv_capacity_tokens(GPU, DENSE, 4, IDEAL) == 21_250_000


def test_latent_attention_is_held_by_every_rank() -> None:
    deepseek = get_model("deepseek-v3")
    assert replica_kv_bytes_per_token(deepseek, 8) == 8 * 70_272


def test_model_that_does_not_fit_is_refused() -> None:
    assert kv_capacity_tokens(get_gpu("h100"), get_model("llama-3.1-405b"), 1, IDEAL) == 0
    with pytest.raises(ConfigurationError, match="does not fit on 1 x h100-sxm"):
        RooflineStepTimer("h100", "llama-3.1-405b", 1)


def test_prefill_is_compute_bound_by_hand() -> None:
    # FLOPs: 2 * 10e9 * 1000 + 2 * 10 layers * 1000 dim * 1000^2 = 2.002e13 at 1e14 FLOP/s
    assert prefill_seconds(GPU, DENSE, 1, IDEAL, 1000) == pytest.approx(0.2002)
    # FP8 weights double the math rate and halve the bytes
    fp8 = DENSE.with_precision("fp8")
    assert prefill_seconds(GPU, fp8, 1, IDEAL, 1000) == pytest.approx(0.1001)
    assert prefill_seconds(GPU, DENSE, 1, IDEAL, 0) == 0.0


def test_prefill_of_a_tiny_prompt_is_bound_by_reading_the_weights() -> None:
    # 1 token: compute 2e10 / 1e14 = 0.2 ms, but 20 GB of weights at 1 TB/s = 20 ms
    assert prefill_seconds(GPU, DENSE, 1, IDEAL, 1) == pytest.approx(0.02)


def test_decode_step_by_hand() -> None:
    # weights 20 GB / 1 TB/s = 0.02 s (compute 2e11 / 1e14 = 2 ms is hidden);
    # KV 5000 tokens * 8000 B / 1e12 = 40 us; sum 0.02004 s
    assert decode_step_seconds(GPU, DENSE, 1, IDEAL, 10, 5000) == pytest.approx(0.02004)
    assert decode_step_seconds(GPU, DENSE, 1, IDEAL, 0, 0) == 0.0


def test_decode_step_with_efficiency_and_tensor_parallel_by_hand() -> None:
    efficiency = Efficiency(0.5, 0.8, 0.001, 0.25, 0.9)
    # bandwidth 0.8 * 1e12 * 4 = 3.2e12: weights 6.25 ms; KV 5000 * 16000 B -> 25 us;
    # communication 1 + 0.25 * log2(4) = 1.5; plus 1 ms overhead
    expected = (0.00625 + 0.000025) * 1.5 + 0.001
    assert decode_step_seconds(GPU, DENSE, 4, efficiency, 10, 5000) == pytest.approx(expected)


def test_decode_becomes_compute_bound_at_large_batch() -> None:
    # batch 2000: GEMM FLOPs 2 * 10e9 * 2000 = 4e13 -> 0.4 s > 0.02 s of weight reads
    assert decode_step_seconds(GPU, DENSE, 1, IDEAL, 2000, 0) == pytest.approx(0.4)


def test_moe_decode_reads_only_touched_experts() -> None:
    moe = CATALOG.model("moe")
    # one sequence: 14 B active params * 2 bytes at 1 TB/s
    assert decode_step_seconds(GPU, moe, 1, IDEAL, 1, 0) == pytest.approx(0.028)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("compute_efficiency", 0.0),
        ("bandwidth_efficiency", 1.5),
        ("step_overhead_s", -1.0),
        ("tp_comm_penalty", -0.1),
        ("memory_utilization", 2.0),
    ],
)
def test_efficiency_refuses_bad_values_by_name(field: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=rf"efficiency\.{field}: expected"):
        Efficiency(**{field: value})


def test_step_timer_implements_the_seam_with_the_same_numbers() -> None:
    timer: StepTimer = RooflineStepTimer(GPU, DENSE, 1, IDEAL, batch_cap=64)
    assert timer.kv_capacity_tokens == 8_750_000
    assert timer.max_batch == 64
    assert timer.prefill_seconds(1000) == pytest.approx(0.2002)
    assert timer.decode_step_seconds(10, 5000) == pytest.approx(0.02004)


def test_step_timer_max_batch_follows_kv_capacity() -> None:
    timer = RooflineStepTimer(GPU, DENSE, 1, IDEAL, batch_cap=10_000, sequence_tokens=8192)
    assert timer.max_batch == 8_750_000 // 8192
    named = RooflineStepTimer("h200", "llama-3.1-8b", 1)
    assert named.max_batch == 256
    assert "h200" in repr(named)


def test_step_timer_refuses_bad_parallelism() -> None:
    with pytest.raises(ConfigurationError, match="tensor_parallel: expected an integer >= 1"):
        RooflineStepTimer("h100", "llama-3.1-8b", 0)
    with pytest.raises(ConfigurationError, match="unknown GPU"):
        RooflineStepTimer("tpu-v9", "llama-3.1-8b", 1)
