"""What routing policies may read of the fleet: `FleetView`, per-backend vectors indexed by the
backend's position in the fleet (`FleetState` implements it; policies never write to it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from fleetgate.routing.backends import Backend, IndexArray
from fleetgate.routing.config import RoutingSettings

FloatArray = npt.NDArray[np.float64]


class FleetView(Protocol):
    """What routing policies may read: per-backend vectors indexed by fleet position."""

    @property
    def routing(self) -> RoutingSettings: ...
    @property
    def in_flight(self) -> FloatArray: ...
    @property
    def load(self) -> FloatArray:
        """In-flight requests per unit of capacity."""
        ...

    @property
    def outstanding_tokens(self) -> FloatArray: ...
    @property
    def capacity(self) -> FloatArray: ...
    @property
    def rtt_s(self) -> FloatArray: ...
    @property
    def salts(self) -> npt.NDArray[np.uint64]: ...
    @property
    def requests_started(self) -> int: ...

    def indices_of(self, candidates: Sequence[Backend]) -> IndexArray: ...
    def latency_estimates(self, indices: IndexArray, now: float) -> tuple[FloatArray, FloatArray]:
        """(time to first token, inter-token latency) per index; unknown ones get priors."""
        ...
