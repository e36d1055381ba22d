"""The router's kept decisions: steps 3-5 of a routing decision (routable, not saturated,
spillover), kept per placement and priority share for requests without failover exclusions.

Key: one `RouteCache` per placement (tenant and model, see `Router`), and in it one entry per
saturation share. Invariant: steps 3-5 read nothing but

  - `FleetHealth.routable` (breakers, probes, drains): `FleetHealth.version` counts its changes;
  - `FleetLoad.load_masks` at the share (saturated and stale: pressure, in-flight caps, metric
    stamps): `FleetLoad.version` counts their changes other than by the clock;
  - the freshness horizon ``now - stale_after_s``: checked against the candidates' stamps;

so an entry is valid while both versions are those it was computed at (`Shortlist`) and no metric
stamp of the candidates crosses the horizon: ``stale_below < horizon <= fresh_from``, where
`fresh_from` is the oldest stamp of the candidates that were fresh (their stamps only move
forward at the same version, so it is raised when the horizon reaches it). A mask that steps 3-5
start to read must be owned by `FleetHealth` or `FleetLoad` and bump its `version` whenever it
changes; `tests/routing/test_routing_route_cache.py` replays random fleet changes and compares
every kept decision with one computed afresh. The cache pays: with 1,000 backends a decision
kept here costs 8-30 us, one recomputed 100-220 us (`bench/routing.py`, docs/benchmarks.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fleetgate.routing.fleet import Fleet
from fleetgate.routing.index import Candidates, FloatArray, IndexArray, Mask


@dataclass(slots=True)
class Shortlist:
    """Steps 3-5 of one decision: what the policy ranks, and the counts the decision reports,
    with what they were computed from (the versions of health and load, the candidates' metric
    stamps)."""

    candidates: Candidates
    tier: str
    routable: int
    open: int
    health_version: int
    """`FleetHealth.version` when computed."""
    load_version: int
    """`FleetLoad.version` when computed."""
    stale_below: float
    """The newest metric stamp of the candidates that were stale (-inf: none)."""
    fresh_from: float
    """The oldest metric stamp of the candidates that were fresh (inf: none)."""
    fresh: IndexArray
    """Fleet positions of the candidates that were fresh."""


def freshness_bounds(metrics_at: FloatArray, fresh: Mask) -> tuple[float, float]:
    """(`Shortlist.stale_below`, `Shortlist.fresh_from`) of candidates whose metric stamps are
    `metrics_at`, fresh where `fresh`."""
    fresh_count = int(np.count_nonzero(fresh))
    stale_below = float(metrics_at[~fresh].max()) if fresh_count < len(metrics_at) else -math.inf
    fresh_from = float(metrics_at[fresh].min()) if fresh_count else math.inf
    return stale_below, fresh_from


class RouteCache:
    """Kept steps 3-5 of one placement, per saturation share."""

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        self._kept: dict[float, Shortlist] = {}

    def get(self, share: float, fleet: Fleet, now: float) -> Shortlist | None:
        """The entry for `share` when it is still valid for `fleet` at `now`, else None."""
        kept = self._kept.get(share)
        if kept is None:
            return None
        if kept.health_version != fleet.health.version or kept.load_version != fleet.load.version:
            return None
        horizon = now - fleet.routing.probes.stale_after_s
        if not kept.stale_below < horizon:
            return None
        if horizon > kept.fresh_from:  # fresh candidates may have newer stamps now
            kept.fresh_from = float(fleet.load.metrics_at[kept.fresh].min())
        return kept if horizon <= kept.fresh_from else None

    def keep(self, share: float, shortlist: Shortlist) -> None:
        """Keep `shortlist` for `share` (it replaces any entry)."""
        self._kept[share] = shortlist
