"""The performance model as the simulated engine's clock: `step_timer_for(gpu, shape, tp)`.

`fleetgate engine --gpu h100 --model-shape llama-3.1-70b --tensor-parallel 8` builds its timer
here, so the engine, the planner and the simulator agree by construction.
"""

from __future__ import annotations

from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.step_timer import DEFAULT_STEP_TIMER_BATCH_CAP, RooflineStepTimer


def step_timer_for(
    gpu: str,
    shape: str,
    tensor_parallel: int = 1,
    *,
    batch_cap: int = DEFAULT_STEP_TIMER_BATCH_CAP,
    efficiency: Efficiency | None = None,
) -> RooflineStepTimer:
    """A roofline step timer for catalog names (unknown names raise ConfigurationError)."""
    return RooflineStepTimer(gpu, shape, tensor_parallel, efficiency, batch_cap=batch_cap)
