"""The static index of a fleet: what never changes while it runs.

Owns the immutable `Backend` record (`fleetgate.settings.Settings.backends` builds them from the
fleet file's sites and pools),
`Candidates` (a cheap index-backed view of a subset of the fleet's backends) and `FleetIndex`:
every backend's position, capacity weight, network round trip, affinity salt and site code, and
the backends serving each model. Load and health (`fleetgate.routing.load`,
`fleetgate.routing.health`) keep per-backend numpy arrays indexed by these positions.

`Candidates` is what lets a routing decision over 1,000 backends stay in microseconds: filters are
boolean masks over an integer index array (numpy), never Python loops over backend objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from fleetgate.errors import ConfigurationError, NotFound
from fleetgate.routing.hashing import stable_hash

IndexArray = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Backend:
    """One reachable inference endpoint of a pool, with everything placement and routing need."""

    id: str
    url: str
    protocol: str
    model_id: str
    served_model: str
    pool_id: str
    site_id: str
    provider: str
    owner: str
    jurisdiction: str
    orbital: bool
    dedicated_to: frozenset[str]
    capacity_weight: float
    network_rtt_s: float
    api_key_env: str | None = None


class Candidates(Sequence[Backend]):
    """An ordered subset of the fleet's backends, stored as indices into the fleet's arrays."""

    __slots__ = ("_fleet_backends", "_members", "indices")

    def __init__(self, fleet_backends: Sequence[Backend], indices: IndexArray) -> None:
        self._fleet_backends = fleet_backends
        self.indices = indices
        self._members: tuple[Backend, ...] | None = None  # the backends, once one is asked for

    @property
    def members(self) -> tuple[Backend, ...]:
        """The backends themselves, in order (built on first use, then kept)."""
        members = self._members
        if members is None:
            backends = self._fleet_backends
            members = self._members = tuple(backends[i] for i in self.indices.tolist())
        return members

    @overload
    def __getitem__(self, position: int) -> Backend: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[Backend]: ...

    def __getitem__(self, position: int | slice) -> Backend | Sequence[Backend]:
        if isinstance(position, slice):
            return Candidates(self._fleet_backends, self.indices[position])
        members = self._members
        return (self.members if members is None else members)[position]

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Backend]:
        return iter(self.members)

    def subset(self, mask: Mask) -> Candidates:
        """The candidates where `mask` (aligned with these candidates) is true, order kept."""
        return Candidates(self._fleet_backends, self.indices[mask])

    def __repr__(self) -> str:
        return f"Candidates({[backend.id for backend in self]!r})"


class FleetIndex:
    """Every backend of a fleet by position, and the static per-backend vectors routing reads."""

    def __init__(self, backends: Sequence[Backend]) -> None:
        self.backends: tuple[Backend, ...] = tuple(backends)
        self.positions = {backend.id: i for i, backend in enumerate(self.backends)}
        """Fleet position of each backend id."""
        if len(self.positions) != len(self.backends):
            raise ConfigurationError("backend ids must be unique within a fleet")
        self.capacity: FloatArray = np.array([b.capacity_weight for b in self.backends], float)
        self.rtt_s: FloatArray = np.array([b.network_rtt_s for b in self.backends], float)
        self.salts = np.array([stable_hash(b.id) for b in self.backends], dtype=np.uint64)
        """Per-backend salt of rendezvous hashing (affinity)."""
        sites = dict.fromkeys(b.site_id for b in self.backends)
        self.site_codes = {site: code for code, site in enumerate(sites)}
        self.site_of: IndexArray = np.array(
            [self.site_codes[b.site_id] for b in self.backends], dtype=np.int64
        )
        self.by_model: dict[str, Candidates] = {}
        """The backends serving each model, in fleet order."""
        for model_id in dict.fromkeys(b.model_id for b in self.backends):
            members = [i for i, b in enumerate(self.backends) if b.model_id == model_id]
            self.by_model[model_id] = Candidates(self.backends, np.array(members, np.int64))

    def __len__(self) -> int:
        return len(self.backends)

    def backends_for_model(self, model_id: str) -> Candidates:
        """Every backend serving `model_id` (empty when none does)."""
        found = self.by_model.get(model_id)
        return found if found is not None else Candidates(self.backends, np.zeros(0, np.int64))

    def model_ids(self) -> list[str]:
        """Every model some backend serves."""
        return list(self.by_model)

    def position(self, backend_id: str) -> int:
        """The fleet position of `backend_id`; NotFound when there is none."""
        position = self.positions.get(backend_id)
        if position is None:
            raise unknown_backend(backend_id)
        return position

    def backend(self, backend_id: str) -> Backend:
        """The backend called `backend_id`; NotFound when there is none."""
        return self.backends[self.position(backend_id)]

    def indices_of(self, candidates: Sequence[Backend]) -> IndexArray:
        """Fleet positions of `candidates` (free for `Candidates`)."""
        if isinstance(candidates, Candidates):
            return candidates.indices
        return np.array([self.positions[b.id] for b in candidates], dtype=np.int64)


def unknown_backend(backend_id: str) -> NotFound:
    """What a lookup of a backend id the fleet does not have raises."""
    return NotFound(f"no backend {backend_id!r} in this fleet")
