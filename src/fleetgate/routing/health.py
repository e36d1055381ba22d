"""The health of every backend: what changes with verdicts on it, not with each request's load.

Owns, per backend position (see `fleetgate.routing.index`): its circuit breaker
(`fleetgate.routing.breaker`), its active-probe verdict (with thresholds against flapping), its
drain, the routable mask that combines the three, passive outlier ejection, and the availability
windows every attempt and client request feed.

`version` counts every change of the routable mask; `fleetgate.routing.route_cache` relies on it.
Open breakers are kept in a deadline heap, so `refresh` is O(1) when none is due. Pure: every
method takes `now`, and the ones that may open a breaker take the `random.Random` that jitters its
deadline.

Outlier ejection is Envoy-style success-rate ejection (`find_outliers`): a backend whose success
ratio trails its peers' mean by more than `stdev_factor` standard deviations (and by at least
`min_gap`) is ejected by tripping its breaker, never more than `max_ejected_share` of a group at
once. The I/O side (active probes, metric scrapes) is the gateway's, in
`fleetgate.gateway.health_probes`.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from typing import Literal

import numpy as np

from fleetgate.errors import NotFound
from fleetgate.routing.availability import AvailabilityTracker
from fleetgate.routing.breaker import CircuitBreaker
from fleetgate.routing.config import OutlierSettings, RoutingSettings
from fleetgate.routing.index import FleetIndex, Mask

DrainScope = Literal["backend", "pool", "site"]


class FleetHealth:
    """Breakers, probe verdicts, drains and the routable mask of every backend, and availability."""

    def __init__(self, index: FleetIndex, routing: RoutingSettings) -> None:
        self.index = index
        self.routing = routing
        count = len(index)
        self.breakers = [CircuitBreaker(routing.breaker) for _ in range(count)]
        self.drained: Mask = np.zeros(count, dtype=bool)
        self.probe_ok: Mask = np.ones(count, dtype=bool)
        self.routable: Mask = np.ones(count, dtype=bool)
        """Not drained, probes passing and the breaker admitting requests."""
        self.availability = AvailabilityTracker(routing.availability)
        self.version = 0
        """Counts changes of `routable`."""
        self._probe_streak = [0] * count
        self._deadlines: list[tuple[float, int]] = []  # (reopen_at, position) of open breakers
        self._queued_deadline = [-math.inf] * count

    # ------------------------------------------------------------------ attempts and requests

    def on_begin(self, i: int, now: float) -> None:
        """A request was sent to backend `i` (in half-open, it takes a trial slot)."""
        breaker = self.breakers[i]
        if breaker.state != "closed":
            breaker.on_begin(now)
            self._update_routable(i, now)

    def on_finish(
        self, i: int, *, ok: bool, now: float, rng: random.Random, record_outcome: bool = True
    ) -> None:
        """An attempt on backend `i` ended with the backend's verdict `ok`; with
        `record_outcome=False` the backend is not judged (the client went away)."""
        breaker = self.breakers[i]
        if not record_outcome:
            breaker.on_abandon(now)
            self._update_routable(i, now)
            return
        backend = self.index.backends[i]
        self.availability.record_attempt(
            backend.id, backend.pool_id, backend.site_id, ok=ok, now=now
        )
        if breaker.record(ok, now, rng) or breaker.state != "closed":
            self._update_routable(i, now)

    def record_request(self, *, ok: bool, now: float) -> None:
        """A client request ended (after any failover): end-to-end availability."""
        self.availability.record_request(ok=ok, now=now)

    # ------------------------------------------------------------------ probes and breakers

    def probe_result(self, backend_id: str, ok: bool, now: float) -> None:
        """An active health probe answered (ok) or failed; thresholds avoid flapping."""
        i = self.index.position(backend_id)
        probes = self.routing.probes
        streak = self._probe_streak[i]
        streak = (max(streak, 0) + 1) if ok else (min(streak, 0) - 1)
        self._probe_streak[i] = streak
        if ok and streak >= probes.healthy_after:
            self.probe_ok[i] = True
        elif not ok and -streak >= probes.unhealthy_after:
            self.probe_ok[i] = False
        self._update_routable(i, now)

    def _update_routable(self, i: int, now: float) -> None:
        breaker = self.breakers[i]
        routable = breaker.allows(now) and self.probe_ok[i] and not self.drained[i]
        if routable != self.routable[i]:
            self.routable[i] = routable
            self.version += 1
        if breaker.state == "open" and self._queued_deadline[i] != breaker.reopen_at:
            self._queued_deadline[i] = breaker.reopen_at
            heapq.heappush(self._deadlines, (breaker.reopen_at, i))

    def refresh(self, now: float) -> None:
        """Let open breakers whose deadline passed turn half-open: O(1) when none is due."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, i = heapq.heappop(deadlines)
            if self.breakers[i].state == "open":
                self._update_routable(i, now)

    def trip(
        self,
        backend_id: str,
        now: float,
        rng: random.Random,
        reason: str = "opened by an operator",
    ) -> None:
        """Open a backend's circuit now; it probes back like any open breaker."""
        i = self.index.position(backend_id)
        self.breakers[i].trip(now, rng, reason)
        self._update_routable(i, now)

    def reset_breaker(self, backend_id: str, now: float) -> None:
        """Close a backend's circuit now and forget its failures."""
        i = self.index.position(backend_id)
        self.breakers[i].reset()
        self._update_routable(i, now)

    def detect_outliers(self, now: float, rng: random.Random) -> list[str]:
        """Eject backends whose success ratio trails their model's peers; returns their ids."""
        ejected: list[str] = []
        backends = self.index.backends
        window = self.routing.availability.windows_s[0]
        reports = {
            r.id: (r.successes, r.attempts)
            for r in self.availability.report(now, "backend")
            if r.window_s == window
        }
        for group in self.index.by_model.values():
            members = group.indices.tolist()
            counts = [reports.get(backends[i].id, (0, 0)) for i in members]
            already = sum(1 for i in members if self.breakers[i].state_at(now) != "closed")
            for position in find_outliers(counts, already, self.routing.outliers):
                i = members[position]
                ok, total = counts[position]
                self.breakers[i].trip(now, rng, f"outlier: success ratio {ok / total:.3f}")
                self._update_routable(i, now)
                ejected.append(backends[i].id)
        return ejected

    # ------------------------------------------------------------------ drains

    def drain(self, scope: DrainScope, target_id: str, now: float) -> list[str]:
        """Stop routing new requests to a backend, pool or site; in-flight ones finish."""
        return self._set_drained(scope, target_id, True, now)

    def undrain(self, scope: DrainScope, target_id: str, now: float) -> list[str]:
        """Route to a drained backend, pool or site again."""
        return self._set_drained(scope, target_id, False, now)

    def _members(self, scope: DrainScope, target_id: str) -> list[int]:
        if scope == "backend":
            return [self.index.position(target_id)]
        attribute = "pool_id" if scope == "pool" else "site_id"
        backends = self.index.backends
        members = [i for i, b in enumerate(backends) if getattr(b, attribute) == target_id]
        if not members:
            raise NotFound(f"no {scope} {target_id!r} in this fleet")
        return members

    def _set_drained(self, scope: DrainScope, target_id: str, value: bool, now: float) -> list[str]:
        if scope not in ("backend", "pool", "site"):
            raise NotFound(f"cannot drain a {scope!r}: expected backend, pool or site")
        members = self._members(scope, target_id)
        for i in members:
            self.drained[i] = value
            self._update_routable(i, now)
        return [self.index.backends[i].id for i in members]


def find_outliers(
    counts: Sequence[tuple[int, int]], already_ejected: int, settings: OutlierSettings
) -> list[int]:
    """Positions in `counts` ((successes, attempts) per backend of one group) to eject.

    Only backends with at least `min_requests` attempts are judged, and at least three of them
    must be, so the mean means something. Worst first, up to the group's ejection allowance.
    """
    if not settings.enabled:
        return []
    judged = [
        (ok / total, position)
        for position, (ok, total) in enumerate(counts)
        if total >= settings.min_requests
    ]
    if len(judged) < 3:
        return []
    ratios = [ratio for ratio, _ in judged]
    mean = sum(ratios) / len(ratios)
    stdev = math.sqrt(sum((r - mean) ** 2 for r in ratios) / len(ratios))
    threshold = min(mean - settings.stdev_factor * stdev, mean - settings.min_gap)
    allowance = math.floor(settings.max_ejected_share * len(counts)) - already_ejected
    worst_first = sorted((ratio, position) for ratio, position in judged if ratio < threshold)
    return [position for _, position in worst_first[: max(allowance, 0)]]
