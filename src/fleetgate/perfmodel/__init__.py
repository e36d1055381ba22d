"""The performance model: GPU and model catalogs, roofline step times, KV capacity (pure core).

Public API (stable):

    get_gpu(name) -> GpuSpec                 "h100" -> h100-sxm; unknown -> ConfigurationError
    get_model(name) -> ModelShape            "llama-3.1-70b", "llama-2-70b@fp8", "deepseek-v3@fp4"
    gpu_names(), model_names(), HardwareCatalog.builtin()
    Efficiency(compute_efficiency, bandwidth_efficiency, step_overhead_s, tp_comm_penalty,
               memory_utilization)
    kv_capacity_tokens(gpu, model, tp, efficiency) -> int
    prefill_seconds(gpu, model, tp, efficiency, prompt_tokens) -> float
    decode_step_seconds(gpu, model, tp, efficiency, batch_size, kv_tokens) -> float
    RooflineStepTimer(gpu, model, tensor_parallel, efficiency)   implements types.StepTimer
    replica_performance(gpu, model, tp, *, target_tpot_s, target_ttft_s, mean_prompt_tokens,
                        mean_output_tokens, efficiency=None, max_batch=512) -> ReplicaPerformance
    operating_point(gpu, model, tp, efficiency, *, batch, prompt_tokens, output_tokens)
        -> OperatingPoint (decode_step_s, tpot_s, ttft_s, requests_per_s at a given batch)

Also: fleetgate.perfmodel.calibration (parse_measurements, calibrate), .fidelity (the published
table), .engine_timer.step_timer_for(gpu, shape, tp). The `fleetgate perfmodel` commands are
fleetgate.cli.perfmodel.
"""

from __future__ import annotations

from fleetgate.perfmodel.catalog import HardwareCatalog, get_gpu, get_model, gpu_names, model_names
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape
from fleetgate.perfmodel.precision import PRECISIONS, Precision, bytes_per_element
from fleetgate.perfmodel.replica import (
    DEFAULT_MAX_BATCH,
    OperatingPoint,
    ReplicaPerformance,
    operating_point,
    replica_performance,
)
from fleetgate.perfmodel.roofline import (
    decode_step_seconds,
    kv_capacity_tokens,
    prefill_seconds,
    replica_kv_bytes_per_token,
)
from fleetgate.perfmodel.step_timer import RooflineStepTimer

__all__ = [
    "DEFAULT_MAX_BATCH",
    "PRECISIONS",
    "Efficiency",
    "GpuSpec",
    "HardwareCatalog",
    "ModelShape",
    "OperatingPoint",
    "Precision",
    "ReplicaPerformance",
    "RooflineStepTimer",
    "bytes_per_element",
    "decode_step_seconds",
    "get_gpu",
    "get_model",
    "gpu_names",
    "kv_capacity_tokens",
    "model_names",
    "operating_point",
    "prefill_seconds",
    "replica_kv_bytes_per_token",
    "replica_performance",
]
