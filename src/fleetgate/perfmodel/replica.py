"""Per-replica throughput and latency at a latency target (TPOT and TTFT), in closed form.

Steady state of continuous batching with `B` sequences, prompts of P tokens and outputs of O:
each sequence lives O decode steps, and while it lives the replica prefills the B requests that
replace the ones finishing (each prefill stalls the batch for t_pre). So

    lifetime = O * t_dec(B) + B * t_pre          requests/s = B / lifetime
    TPOT     = lifetime / O                      (decode step plus prefill stalls, per token)
    TTFT     = t_pre + t_dec / 2 + M/D/1 wait    (rho = requests/s * t_pre)

with t_dec(B) evaluated at the mean context B * (P + O/2); the KV cache bounds B by
capacity / (P + O/2) (paged KV: sequences hold what they have generated so far, on average half
their output). TPOT and TTFT grow with B, so the largest batch that meets both targets is found by
bisection (cheap: ~12 evaluations per call).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel import roofline
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.fields import check_count, check_positive
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape

DEFAULT_MAX_BATCH = 512
"""Cap on concurrent sequences per replica (serving stacks cap the running batch)."""

Limit = Literal["tpot", "ttft", "kv_capacity", "batch_cap"]


@dataclass(frozen=True, slots=True)
class ReplicaPerformance:
    """One replica (TP GPUs) at its best operating point under the latency targets.

    `batch` is 0 (and every rate 0) when even a single sequence misses a target;
    `limited_by` names what stopped the batch from growing.
    """

    gpu: str
    model: str
    tensor_parallel: int
    batch: int
    limited_by: Limit
    meets_targets: bool
    kv_capacity_tokens: int
    max_batch: int
    prefill_s: float
    decode_step_s: float
    tpot_s: float
    ttft_s: float
    requests_per_s: float
    output_tokens_per_s: float
    input_tokens_per_s: float

    @property
    def output_tokens_per_s_per_gpu(self) -> float:
        """Generated tokens per second per GPU."""
        return self.output_tokens_per_s / self.tensor_parallel

    @property
    def input_tokens_per_s_per_gpu(self) -> float:
        """Prompt tokens per second per GPU."""
        return self.input_tokens_per_s / self.tensor_parallel

    @property
    def requests_per_s_per_gpu(self) -> float:
        """Completed requests per second per GPU."""
        return self.requests_per_s / self.tensor_parallel


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """Steady state of one replica running `batch` sequences (see the module docstring)."""

    decode_step_s: float
    tpot_s: float
    ttft_s: float
    requests_per_s: float


def _operating_point(
    batch: float, prefill_s: float, prompt: float, output: float, step: _StepFn
) -> OperatingPoint:
    decode_s = step(batch, batch * (prompt + output / 2.0))
    lifetime = output * decode_s + batch * prefill_s
    rate = batch / lifetime
    rho = min(rate * prefill_s, 0.999999)
    wait = rho * prefill_s / (2.0 * (1.0 - rho))
    return OperatingPoint(decode_s, lifetime / output, prefill_s + decode_s / 2.0 + wait, rate)


def operating_point(
    gpu: GpuSpec,
    model: ModelShape,
    tensor_parallel: int,
    efficiency: Efficiency,
    *,
    batch: float,
    prompt_tokens: float,
    output_tokens: float,
) -> OperatingPoint:
    """TPOT, TTFT and request rate of a replica holding `batch` sequences of the given shape."""
    tp = roofline.check_tensor_parallel(tensor_parallel)
    prefill_s = roofline.prefill_seconds(gpu, model, tp, efficiency, prompt_tokens)
    step = _StepFn(gpu, model, tp, efficiency)
    return _operating_point(batch, prefill_s, prompt_tokens, output_tokens, step)


class _StepFn:
    """Decode step time of one fixed (gpu, model, tp, efficiency)."""

    def __init__(self, gpu: GpuSpec, model: ModelShape, tp: int, efficiency: Efficiency) -> None:
        self._args = (gpu, model, tp, efficiency)

    def __call__(self, batch: float, kv_tokens: float) -> float:
        return roofline.decode_step_seconds(*self._args, batch, kv_tokens)


def _target(value: float | None, name: str) -> float:
    if value is None or value == math.inf:
        return math.inf
    return check_positive(value, name)


def replica_performance(
    gpu: GpuSpec,
    model: ModelShape,
    tensor_parallel: int,
    *,
    target_tpot_s: float | None,
    target_ttft_s: float | None,
    mean_prompt_tokens: float,
    mean_output_tokens: float,
    efficiency: Efficiency | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> ReplicaPerformance:
    """Throughput and latency of one replica at the largest batch meeting both targets.

    Targets of None (or inf) are unconstrained: the batch then grows to the KV capacity or the
    batch cap (MLPerf "offline"). Raises ConfigurationError when the model does not fit or one
    request (prompt + output) does not fit the KV cache.
    """
    tp = roofline.check_tensor_parallel(tensor_parallel)
    eff = efficiency or Efficiency()
    tpot_target = _target(target_tpot_s, "target_tpot_s")
    ttft_target = _target(target_ttft_s, "target_ttft_s")
    prompt = check_positive(mean_prompt_tokens, "mean_prompt_tokens")
    output = check_positive(mean_output_tokens, "mean_output_tokens")
    cap = check_count(max_batch, "max_batch")
    kv_tokens, kv_batch = _kv_limits(gpu, model, tp, eff, prompt, output)
    replica = _Replica(gpu, model, tp, kv_tokens, min(kv_batch, cap))
    prefill_s = roofline.prefill_seconds(gpu, model, tp, eff, prompt)
    step = _StepFn(gpu, model, tp, eff)

    def point(batch: int) -> OperatingPoint:
        return _operating_point(batch, prefill_s, prompt, output, step)

    def meets(candidate: OperatingPoint) -> bool:
        return candidate.tpot_s <= tpot_target and candidate.ttft_s <= ttft_target

    best = _largest_meeting(replica.ceiling, point, meets)
    if best == 0:
        single = point(1)
        limit: Limit = "tpot" if single.tpot_s > tpot_target else "ttft"
        return _result(replica, 0, limit, prefill_s, single, (0.0, 0.0, 0.0))
    chosen = point(best)
    if best < replica.ceiling:
        limit = "tpot" if point(best + 1).tpot_s > tpot_target else "ttft"
    else:
        limit = "kv_capacity" if kv_batch <= cap else "batch_cap"
    rate = chosen.requests_per_s
    return _result(replica, best, limit, prefill_s, chosen, (rate, rate * output, rate * prompt))


class _Replica(NamedTuple):
    gpu: GpuSpec
    model: ModelShape
    tensor_parallel: int
    kv_tokens: int
    ceiling: int


def _kv_limits(
    gpu: GpuSpec, model: ModelShape, tp: int, eff: Efficiency, prompt: float, output: float
) -> tuple[int, int]:
    """KV capacity in tokens and the batch it holds at a mean context of prompt + output/2."""
    kv_tokens = roofline.require_fit(gpu, model, tp, eff)
    kv_batch = int(kv_tokens // (prompt + output / 2.0))
    if kv_batch < 1:
        raise ConfigurationError(
            f"one request of {prompt + output:.0f} tokens does not fit the KV cache of "
            f"{kv_tokens} tokens ({model.name} on {tp} x {gpu.name})"
        )
    return kv_tokens, kv_batch


def _largest_meeting(
    ceiling: int, point: Callable[[int], OperatingPoint], meets: Callable[[OperatingPoint], bool]
) -> int:
    """Largest batch in [1, ceiling] whose operating point meets the targets (0 if none)."""
    if not meets(point(1)):
        return 0
    low, high = 1, ceiling
    while low < high:
        middle = (low + high + 1) // 2
        if meets(point(middle)):
            low = middle
        else:
            high = middle - 1
    return low


def _result(
    replica: _Replica,
    batch: int,
    limit: Limit,
    prefill_s: float,
    chosen: OperatingPoint,
    rates: tuple[float, float, float],
) -> ReplicaPerformance:
    return ReplicaPerformance(
        gpu=replica.gpu.name,
        model=replica.model.name,
        tensor_parallel=replica.tensor_parallel,
        batch=batch,
        limited_by=limit,
        meets_targets=batch > 0,
        kv_capacity_tokens=replica.kv_tokens,
        max_batch=replica.ceiling,
        prefill_s=prefill_s,
        decode_step_s=chosen.decode_step_s,
        tpot_s=chosen.tpot_s,
        ttft_s=chosen.ttft_s,
        requests_per_s=rates[0],
        output_tokens_per_s=rates[1],
        input_tokens_per_s=rates[2],
    )
