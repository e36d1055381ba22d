"""Efficiency factors: how far real serving stacks stay below the roofline.

The defaults were chosen by a grid search over the four factors, minimising the worst relative
error over the fidelity table (data/fidelity.yaml: MLPerf v4.1 Llama 2 70B on H100, H200, B200 and
GB200): worst row 13.7%. The tensor-parallel penalty is only weakly identified by that table (its
TP degrees are 1 and 2); calibrate it on your own multi-GPU measurements with
`fleetgate perfmodel calibrate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleetgate.perfmodel import fields


@dataclass(frozen=True, slots=True)
class Efficiency:
    """Achieved fractions of peak, fixed costs and deployment margins of one serving stack.

    compute_efficiency: achieved share of dense peak FLOP/s (MFU) in compute-bound work
        (prefill, and decode at very large batches).
    bandwidth_efficiency: achieved share of HBM bandwidth (MBU) in memory-bound decode steps.
    step_overhead_s: fixed time every forward pass pays (kernel launches, scheduling, sampling).
    tp_comm_penalty: extra step time for tensor-parallel all-reduces, as a fraction of the
        roofline time per doubling of the tensor-parallel degree (TP 8 = 3 doublings).
    memory_utilization: share of HBM the server may use for weights plus KV cache (vLLM's
        gpu_memory_utilization); the rest holds activations, CUDA graphs and fragmentation.
    """

    compute_efficiency: float = 0.65
    bandwidth_efficiency: float = 0.6
    step_overhead_s: float = 0.003
    tp_comm_penalty: float = 0.3
    memory_utilization: float = 0.9

    def __post_init__(self) -> None:
        fields.check_fraction(self.compute_efficiency, "efficiency.compute_efficiency")
        fields.check_fraction(self.bandwidth_efficiency, "efficiency.bandwidth_efficiency")
        fields.check_non_negative(self.step_overhead_s, "efficiency.step_overhead_s")
        fields.check_non_negative(self.tp_comm_penalty, "efficiency.tp_comm_penalty")
        fields.check_fraction(self.memory_utilization, "efficiency.memory_utilization")

    def communication_factor(self, tensor_parallel: int) -> float:
        """Multiplier on roofline time for all-reduces at this tensor-parallel degree."""
        return 1.0 + self.tp_comm_penalty * math.log2(tensor_parallel)
