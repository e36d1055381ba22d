"""Backends as routing sees them: the immutable `Backend` record, built once from settings, and
`Candidates`, a cheap index-backed view of a subset of the fleet's backends.

`Candidates` is what lets a routing decision over 1,000 backends stay in microseconds: filters are
boolean masks over an integer index array (numpy), never Python loops over backend objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import numpy as np
import numpy.typing as npt

from fleetgate.errors import ConfigurationError

if TYPE_CHECKING:
    from fleetgate.settings import PoolSettings, Settings, SiteSettings

IndexArray = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


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

    def backend_at(self, fleet_index: int) -> Backend:
        """The backend at `fleet_index` in the fleet's own order."""
        return self._fleet_backends[fleet_index]

    def __repr__(self) -> str:
        return f"Candidates({[backend.id for backend in self]!r})"


def _pool_weight(pool: PoolSettings) -> float:
    replicas = max(pool.gpus / pool.tensor_parallel, 1.0)
    return replicas / max(len(pool.backends), 1)


def _pool_backends(
    site: SiteSettings, pool: PoolSettings, served_model: str, where: str
) -> list[tuple[Backend, str]]:
    built: list[tuple[Backend, str]] = []
    for position, settings in enumerate(pool.backends):
        backend = Backend(
            id=settings.id or f"{pool.id}#{position}",
            url=settings.url,
            protocol=settings.protocol,
            model_id=pool.model,
            served_model=served_model,
            pool_id=pool.id,
            site_id=site.id,
            provider=site.provider,
            owner=site.owner,
            jurisdiction=site.region,
            orbital=site.kind == "orbital",
            dedicated_to=frozenset(pool.dedicated_to),
            capacity_weight=settings.capacity_weight or _pool_weight(pool),
            network_rtt_s=site.network_rtt_ms / 1000.0,
            api_key_env=settings.api_key_env,
        )
        built.append((backend, f"{where}.backends[{position}]"))
    return built


def backends_from_settings(settings: Settings) -> tuple[Backend, ...]:
    """Every backend of every pool, in settings order; duplicate ids are a configuration error."""
    built: list[tuple[Backend, str]] = []
    for s, site in enumerate(settings.sites):
        for p, pool in enumerate(site.pools):
            model = settings.model(pool.model)
            served = model.served_name if model is not None else pool.model
            built += _pool_backends(site, pool, served, f"sites[{s}].pools[{p}]")
    seen: dict[str, str] = {}
    for backend, where in built:
        if backend.id in seen:
            raise ConfigurationError(
                f"{where}.id: duplicate backend id {backend.id!r} (also at {seen[backend.id]})"
            )
        seen[backend.id] = where
    return tuple(backend for backend, _ in built)
