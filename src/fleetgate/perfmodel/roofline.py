"""Roofline formulas of one replica (a tensor-parallel group of GPUs): KV capacity, prefill time
(compute bound) and decode step time (bandwidth bound: weights plus the KV cache read each step).

Every function is pure; see shared/reference/capacity-constants.md section 3 for the derivation.
"""

from __future__ import annotations

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.fields import check_count
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape
from fleetgate.perfmodel.precision import bytes_per_element


def check_tensor_parallel(tensor_parallel: object) -> int:
    """`tensor_parallel` as a positive integer, else ConfigurationError."""
    return check_count(tensor_parallel, "tensor_parallel")


def kv_replication(model: ModelShape, tensor_parallel: int) -> float:
    """Copies of each token's KV the replica stores.

    Tensor parallelism splits KV heads across GPUs; beyond one head per GPU the heads are
    duplicated (TP 16 with 8 KV heads: 2 copies). Latent attention keeps one shared latent per
    token that every tensor-parallel rank holds in full.
    """
    if model.uses_mla:
        return float(tensor_parallel)
    return max(1.0, tensor_parallel / model.kv_heads)


def replica_kv_bytes_per_token(model: ModelShape, tensor_parallel: int) -> float:
    """KV bytes one token of context costs the whole replica (replication included)."""
    return model.kv_bytes_per_token * kv_replication(model, tensor_parallel)


def kv_budget_bytes(
    gpu: GpuSpec, model: ModelShape, tensor_parallel: int, efficiency: Efficiency
) -> float:
    """HBM left for the KV cache: TP * memory * utilization - weights (negative: no fit)."""
    usable = tensor_parallel * gpu.memory_bytes * efficiency.memory_utilization
    return usable - model.weight_bytes


def kv_capacity_tokens(
    gpu: GpuSpec, model: ModelShape, tensor_parallel: int, efficiency: Efficiency
) -> int:
    """Tokens of context the replica's KV cache holds at once (0 when the weights fill HBM)."""
    budget = kv_budget_bytes(gpu, model, tensor_parallel, efficiency)
    if budget <= 0:
        return 0
    return int(budget // replica_kv_bytes_per_token(model, tensor_parallel))


def require_fit(
    gpu: GpuSpec, model: ModelShape, tensor_parallel: int, efficiency: Efficiency
) -> int:
    """The KV capacity in tokens, or ConfigurationError when the weights leave no room."""
    tokens = kv_capacity_tokens(gpu, model, tensor_parallel, efficiency)
    if tokens <= 0:
        usable = tensor_parallel * gpu.memory_gb * efficiency.memory_utilization
        raise ConfigurationError(
            f"model {model.name!r} ({model.weight_bytes / 1e9:.0f} GB of "
            f"{model.weight_precision} weights) does not fit on {tensor_parallel} x {gpu.name} "
            f"({usable:.0f} GB usable); raise tensor_parallel or quantize the weights"
        )
    return tokens


def prefill_flops(model: ModelShape, prompt_tokens: float) -> float:
    """FLOPs of a prefill: 2 per active parameter per token plus causal attention
    (QK^T and AV: 4 * layers * attention_dim * l^2, halved by the causal mask)."""
    linear = 2.0 * model.active_params * prompt_tokens
    attention = 2.0 * model.layers * model.attention_dim * prompt_tokens * prompt_tokens
    return linear + attention


def decode_attention_flops(model: ModelShape, kv_tokens: float) -> float:
    """FLOPs of decode attention: QK^T and AV over every context token held,
    4 * layers * attention_dim per context token."""
    return 4.0 * model.layers * model.attention_dim * kv_tokens


def prefill_seconds(
    gpu: GpuSpec,
    model: ModelShape,
    tensor_parallel: int,
    efficiency: Efficiency,
    prompt_tokens: float,
) -> float:
    """Time to prefill one prompt: max(compute, weight read) * communication + step overhead."""
    if prompt_tokens <= 0:
        return 0.0
    compute = prefill_flops(model, prompt_tokens) / (
        efficiency.compute_efficiency * gpu.peak_flops(model.weight_precision) * tensor_parallel
    )
    weights = model.params_read(prompt_tokens) * bytes_per_element(model.weight_precision)
    memory = weights / (efficiency.bandwidth_efficiency * gpu.bandwidth_bytes_s * tensor_parallel)
    roofline = max(compute, memory) * efficiency.communication_factor(tensor_parallel)
    return roofline + efficiency.step_overhead_s


def decode_step_seconds(
    gpu: GpuSpec,
    model: ModelShape,
    tensor_parallel: int,
    efficiency: Efficiency,
    batch_size: float,
    kv_tokens: float,
) -> float:
    """Time of one decode step producing a token for each of `batch_size` sequences that
    hold `kv_tokens` tokens of context together.

    Two kernels families run one after the other, each on its own roofline:
    the weight GEMMs, max(weights read / bandwidth, 2 * active params * batch / FLOP/s) (for
    MoE only the experts the batch touches are read), then attention, max(KV read / bandwidth,
    attention FLOPs / FLOP/s). Their sum, times the communication factor, plus the fixed
    step overhead.
    """
    if batch_size <= 0:
        return 0.0
    context = max(kv_tokens, 0.0)
    bandwidth = efficiency.bandwidth_efficiency * gpu.bandwidth_bytes_s * tensor_parallel
    flops = efficiency.compute_efficiency * gpu.peak_flops(model.weight_precision) * tensor_parallel
    weights = model.params_read(batch_size) * bytes_per_element(model.weight_precision)
    gemm = max(weights / bandwidth, 2.0 * model.active_params * batch_size / flops)
    kv = context * replica_kv_bytes_per_token(model, tensor_parallel)
    attention = max(kv / bandwidth, decode_attention_flops(model, context) / flops)
    roofline = (gemm + attention) * efficiency.communication_factor(tensor_parallel)
    return roofline + efficiency.step_overhead_s
