"""`RooflineStepTimer`: the performance model behind the `fleetgate.seams.StepTimer` seam, so
the simulated engine, the simulator and the planner take their timing from one model."""

from __future__ import annotations

from fleetgate.perfmodel import roofline
from fleetgate.perfmodel.catalog import get_gpu, get_model
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.fields import check_count
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape

DEFAULT_STEP_TIMER_BATCH_CAP = 256
"""Running-batch cap of the timer (vLLM's default max_num_seqs)."""


class RooflineStepTimer:
    """Step times of one replica: `gpu` x `tensor_parallel` serving `model`.

    `max_batch` is the smaller of `batch_cap` and the sequences of `sequence_tokens` tokens
    the KV cache holds (without `sequence_tokens`: one token per sequence, leaving admission
    by KV capacity to the scheduler).
    """

    def __init__(
        self,
        gpu: GpuSpec | str,
        model: ModelShape | str,
        tensor_parallel: int = 1,
        efficiency: Efficiency | None = None,
        *,
        batch_cap: int = DEFAULT_STEP_TIMER_BATCH_CAP,
        sequence_tokens: int | None = None,
    ) -> None:
        self.gpu = get_gpu(gpu) if isinstance(gpu, str) else gpu
        self.model = get_model(model) if isinstance(model, str) else model
        self.tensor_parallel = roofline.check_tensor_parallel(tensor_parallel)
        self.efficiency = efficiency or Efficiency()
        cap = check_count(batch_cap, "batch_cap")
        self._kv_capacity = roofline.require_fit(
            self.gpu, self.model, self.tensor_parallel, self.efficiency
        )
        per_sequence = (
            1 if sequence_tokens is None else check_count(sequence_tokens, "sequence_tokens")
        )
        self._max_batch = max(1, min(cap, self._kv_capacity // per_sequence))

    @property
    def max_batch(self) -> int:
        """The most sequences decoded together in one step."""
        return self._max_batch

    @property
    def kv_capacity_tokens(self) -> int:
        """KV-cache capacity of the replica in tokens."""
        return self._kv_capacity

    def prefill_seconds(self, prompt_tokens: int) -> float:
        """Time to prefill a prompt of `prompt_tokens` tokens."""
        return roofline.prefill_seconds(
            self.gpu, self.model, self.tensor_parallel, self.efficiency, prompt_tokens
        )

    def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
        """Time of one decode step over `batch_size` sequences holding `kv_tokens` of context."""
        return roofline.decode_step_seconds(
            self.gpu, self.model, self.tensor_parallel, self.efficiency, batch_size, kv_tokens
        )

    def __repr__(self) -> str:
        return (
            f"RooflineStepTimer({self.gpu.name!r}, {self.model.name!r}, "
            f"tensor_parallel={self.tensor_parallel})"
        )
