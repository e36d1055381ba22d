"""What routing policies may read of the fleet: `FleetView`, per-backend vectors indexed by the
backend's position in the fleet, from its static index and its load. Policies never write to it
and never see health: the router has filtered candidates by health before a policy ranks them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fleetgate.routing.index import Backend, FleetIndex, FloatArray, IndexArray
from fleetgate.routing.load import FleetLoad


class FleetView:
    """The read-only face of a fleet's index and load that every routing policy is given."""

    __slots__ = ("_index", "_load")

    def __init__(self, index: FleetIndex, load: FleetLoad) -> None:
        self._index = index
        self._load = load

    @property
    def in_flight(self) -> FloatArray:
        """Requests in flight."""
        return self._load.in_flight

    @property
    def load(self) -> FloatArray:
        """In-flight requests per unit of capacity."""
        return self._load.load

    @property
    def outstanding_tokens(self) -> FloatArray:
        """Estimated tokens (input + max output) of the requests in flight."""
        return self._load.outstanding_tokens

    @property
    def requests_started(self) -> int:
        """Requests begun on the whole fleet so far."""
        return self._load.requests_started

    @property
    def capacity(self) -> FloatArray:
        """Capacity weight (replicas behind the backend)."""
        return self._index.capacity

    @property
    def rtt_s(self) -> FloatArray:
        """Network round trip to the backend's site."""
        return self._index.rtt_s

    @property
    def salts(self) -> npt.NDArray[np.uint64]:
        """Per-backend salt of rendezvous hashing."""
        return self._index.salts

    def indices_of(self, candidates: Sequence[Backend]) -> IndexArray:
        """Fleet positions of `candidates` (free for `Candidates`)."""
        return self._index.indices_of(candidates)

    def latency_estimates(self, indices: IndexArray, now: float) -> tuple[FloatArray, FloatArray]:
        """(time to first token, inter-token latency) per index; unknown ones get priors."""
        return self._load.latency_estimates(indices, now)
