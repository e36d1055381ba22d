"""Live fleet state: load, latency, engine metrics, health and drains of every backend.

`FleetState` is mutable and owned by whoever runs the fleet (the gateway app or the simulator);
there are no globals. Every method takes `now`. Per-backend numbers live in numpy arrays indexed
by the backend's position, so routing policies read them as vectors (see `FleetView`).

Engine metrics older than `routing.probes.stale_after_s`, and latency averages older than
`routing.latency_stale_after_s`, count as unknown: never as idle, never as saturated.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from fleetgate.errors import ConfigurationError, NotFound
from fleetgate.routing.availability import AvailabilityTracker
from fleetgate.routing.backends import Backend, Candidates, IndexArray, Mask, backends_from_settings
from fleetgate.routing.config import RoutingSettings
from fleetgate.routing.fleet_view import FleetView, FloatArray
from fleetgate.routing.hashing import stable_hash
from fleetgate.routing.health import CircuitBreaker, find_outliers
from fleetgate.routing.snapshot import fleet_snapshot

if TYPE_CHECKING:
    from fleetgate.settings import Settings

DrainScope = Literal["backend", "pool", "site"]

__all__ = ["Backend", "Candidates", "DrainScope", "FleetState", "FleetView", "FloatArray"]


class FleetState:
    """Mutable live state of every backend; the one object the router reads and shells feed."""

    def __init__(
        self,
        backends: Sequence[Backend],
        routing: RoutingSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.routing = routing or RoutingSettings()
        self.rng = rng or random.Random()
        self.backends: tuple[Backend, ...] = tuple(backends)
        self.index = {backend.id: i for i, backend in enumerate(self.backends)}
        count = len(self.backends)
        if len(self.index) != count:
            raise ConfigurationError("backend ids must be unique within a fleet")
        self.in_flight: FloatArray = np.zeros(count)
        self.load: FloatArray = np.zeros(count)
        self.outstanding_tokens: FloatArray = np.zeros(count)
        self.capacity: FloatArray = np.array([b.capacity_weight for b in self.backends], float)
        self.rtt_s: FloatArray = np.array([b.network_rtt_s for b in self.backends], float)
        self.salts = np.array([stable_hash(b.id) for b in self.backends], dtype=np.uint64)
        self.site_codes = {site: code for code, site in enumerate(dict.fromkeys(
            b.site_id for b in self.backends))}  # fmt: skip
        self.site_of: npt.NDArray[np.int64] = np.array(
            [self.site_codes[b.site_id] for b in self.backends], dtype=np.int64
        )
        self.ttft_s: FloatArray = np.full(count, np.nan)
        self.itl_s: FloatArray = np.full(count, np.nan)
        self.ttft_at: FloatArray = np.full(count, -np.inf)
        self.itl_at: FloatArray = np.full(count, -np.inf)
        self.waiting: FloatArray = np.zeros(count)
        self.running: FloatArray = np.zeros(count)
        self.kv_usage: FloatArray = np.zeros(count)
        self.pressure: FloatArray = np.zeros(count)
        self.metrics_at: FloatArray = np.full(count, -np.inf)
        self.drained: Mask = np.zeros(count, dtype=bool)
        self.probe_ok: Mask = np.ones(count, dtype=bool)
        self.routable: Mask = np.ones(count, dtype=bool)
        self.breakers = [CircuitBreaker(self.routing.breaker) for _ in self.backends]
        self._probe_streak = [0] * count
        self._deadlines: list[tuple[float, int]] = []  # (reopen_at, position) of open breakers
        self._queued_deadline = [-math.inf] * count
        self.availability = AvailabilityTracker(self.routing.availability)
        self.requests_started = 0
        self.version = 0
        """Counts changes that can change routing masks (see `record_metrics`): a router may
        keep masks computed at one version while it lasts, as `Router` does."""
        self.saturation_shares = frozenset({1.0, *self.routing.priority.saturation_share.values()})
        """The shares of the saturation thresholds that `version` watches."""
        self._latest = -math.inf  # the latest `now` given to `refresh`
        self._by_model: dict[str, Candidates] = {}
        for model_id in dict.fromkeys(b.model_id for b in self.backends):
            members = [i for i, b in enumerate(self.backends) if b.model_id == model_id]
            self._by_model[model_id] = Candidates(self.backends, np.array(members, np.int64))

    @classmethod
    def from_settings(cls, settings: Settings, rng: random.Random | None = None) -> FleetState:
        """Every backend of `settings` (a `fleetgate.settings.Settings`), all idle and healthy."""
        return cls(backends_from_settings(settings), settings.routing, rng)

    # ------------------------------------------------------------------ lookups

    def backends_for_model(self, model_id: str) -> Candidates:
        """Every backend serving `model_id` (empty when none does)."""
        found = self._by_model.get(model_id)
        return found if found is not None else Candidates(self.backends, np.zeros(0, np.int64))

    def model_ids(self) -> list[str]:
        """Every model some backend serves."""
        return list(self._by_model)

    def backend(self, backend_id: str) -> Backend:
        """The backend called `backend_id`; NotFound when there is none."""
        return self.backends[self._position(backend_id)]

    def indices_of(self, candidates: Sequence[Backend]) -> IndexArray:
        """Fleet positions of `candidates` (free for `Candidates`)."""
        if isinstance(candidates, Candidates):
            return candidates.indices
        return np.array([self.index[b.id] for b in candidates], dtype=np.int64)

    def _position(self, backend_id: str) -> int:
        position = self.index.get(backend_id)
        if position is None:
            raise NotFound(f"no backend {backend_id!r} in this fleet")
        return position

    def _position_of_unknown(self, backend_id: str) -> NotFound:
        """What the request-lifecycle methods raise for an unknown backend (they look positions
        up inline: they run several times per request)."""
        return NotFound(f"no backend {backend_id!r} in this fleet")

    # ------------------------------------------------------------------ request lifecycle

    def begin(self, backend_id: str, tokens: int, now: float) -> None:
        """A request of `tokens` estimated tokens (input + max output) was sent to a backend."""
        try:
            i = self.index[backend_id]
        except KeyError:
            raise self._position_of_unknown(backend_id) from None
        in_flight: float = self.in_flight.item(i) + 1.0  # Python floats: numpy scalars are slow
        self.in_flight[i] = in_flight
        self.load[i] = in_flight / self.capacity.item(i)
        self.outstanding_tokens[i] = self.outstanding_tokens.item(i) + max(tokens, 0)
        self.requests_started += 1
        breaker = self.breakers[i]
        if breaker.state != "closed":
            breaker.on_begin(now)
            self._update_routable(i, now)

    def first_token(self, backend_id: str, ttft_s: float, now: float) -> None:
        """The backend produced its first token `ttft_s` after the request was sent."""
        try:
            i = self.index[backend_id]
        except KeyError:
            raise self._position_of_unknown(backend_id) from None
        self._ewma(self.ttft_s, self.ttft_at, i, ttft_s, now)

    def finish(
        self,
        backend_id: str,
        *,
        ok: bool,
        tokens: int,
        now: float,
        itl_s: float | None = None,
        record_outcome: bool = True,
    ) -> None:
        """A request ended; `tokens` is the count given to `begin`. `ok` is the backend's verdict
        (False: connect error, 5xx, timeout, overload). `record_outcome=False` releases the load
        without judging the backend (the client went away)."""
        try:
            i = self.index[backend_id]
        except KeyError:
            raise self._position_of_unknown(backend_id) from None
        in_flight = max(self.in_flight.item(i) - 1.0, 0.0)
        self.in_flight[i] = in_flight
        self.load[i] = in_flight / self.capacity.item(i)
        if in_flight == 0:  # self-healing: nothing in flight holds no tokens
            self.outstanding_tokens[i] = 0.0
        else:
            left = self.outstanding_tokens.item(i) - max(tokens, 0)
            self.outstanding_tokens[i] = max(left, 0.0)
        if itl_s is not None:
            self._ewma(self.itl_s, self.itl_at, i, itl_s, now)
        breaker = self.breakers[i]
        if not record_outcome:
            breaker.on_abandon(now)
            self._update_routable(i, now)
            return
        backend = self.backends[i]
        self.availability.record_attempt(
            backend.id, backend.pool_id, backend.site_id, ok=ok, now=now
        )
        if breaker.record(ok, now, self.rng) or breaker.state != "closed":
            self._update_routable(i, now)

    def record_request(self, *, ok: bool, now: float) -> None:
        """A client request ended (after any failover): end-to-end availability."""
        self.availability.record_request(ok=ok, now=now)

    def record_metrics(
        self, backend_id: str, waiting: float, running: float, kv_usage: float, now: float
    ) -> None:
        """Engine metrics scraped from a backend (vLLM: waiting, running, KV-cache usage 0..1)."""
        i = self._position(backend_id)
        stamp, pressure = float(self.metrics_at[i]), float(self.pressure[i])
        self.waiting[i] = max(waiting, 0.0)
        self.running[i] = max(running, 0.0)
        self.kv_usage[i] = min(max(kv_usage, 0.0), 1.0)
        self.metrics_at[i] = now
        limits = self.routing.saturation
        self.pressure[i] = max(
            self.waiting[i] / limits.max_waiting, self.kv_usage[i] / limits.max_kv_usage
        )
        if not self._masks_unchanged(stamp, now, pressure, float(self.pressure[i])):
            self.version += 1

    def _masks_unchanged(self, stamp: float, now: float, before: float, after: float) -> bool:
        """Whether new metrics stamped `now` (were: `stamp`, pressure `before`) leave every mask
        a router may keep as it was: the backend counts as saturated at every watched share as
        before, and it was fresh at `now` already, with `now` not earlier than any decision
        (`refresh`) nor than `stamp`. Then it was fresh for every decision kept so far, and
        stays fresh with the newer stamp wherever it was."""
        if not (
            stamp <= now
            and self._latest <= now
            and stamp >= now - self.routing.probes.stale_after_s
        ):
            return False
        return all((before >= share) == (after >= share) for share in self.saturation_shares)

    def probe_result(self, backend_id: str, ok: bool, now: float) -> None:
        """An active health probe answered (ok) or failed; thresholds avoid flapping."""
        i = self._position(backend_id)
        probes = self.routing.probes
        streak = self._probe_streak[i]
        streak = (max(streak, 0) + 1) if ok else (min(streak, 0) - 1)
        self._probe_streak[i] = streak
        if ok and streak >= probes.healthy_after:
            self.probe_ok[i] = True
        elif not ok and -streak >= probes.unhealthy_after:
            self.probe_ok[i] = False
        self._update_routable(i, now)

    def _ewma(
        self, values: FloatArray, stamps: FloatArray, i: int, sample: float, now: float
    ) -> None:
        if not 0 <= sample < math.inf:  # negative, infinite or NaN
            return
        old: float = values.item(i)
        routing = self.routing
        if math.isnan(old) or not now - stamps.item(i) <= routing.latency_stale_after_s:
            values[i] = sample
        else:
            alpha = routing.ewma_alpha
            values[i] = alpha * sample + (1 - alpha) * old
        stamps[i] = now

    # ------------------------------------------------------------------ health and drains

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
        self._latest = max(self._latest, now)
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, i = heapq.heappop(deadlines)
            if self.breakers[i].state == "open":
                self._update_routable(i, now)

    def _members(self, scope: DrainScope, target_id: str) -> list[int]:
        if scope == "backend":
            return [self._position(target_id)]
        attribute = "pool_id" if scope == "pool" else "site_id"
        members = [i for i, b in enumerate(self.backends) if getattr(b, attribute) == target_id]
        if not members:
            raise NotFound(f"no {scope} {target_id!r} in this fleet")
        return members

    def drain(self, scope: DrainScope, target_id: str, now: float) -> list[str]:
        """Stop routing new requests to a backend, pool or site; in-flight ones finish."""
        return self._set_drained(scope, target_id, True, now)

    def undrain(self, scope: DrainScope, target_id: str, now: float) -> list[str]:
        """Route to a drained backend, pool or site again."""
        return self._set_drained(scope, target_id, False, now)

    def _set_drained(self, scope: DrainScope, target_id: str, value: bool, now: float) -> list[str]:
        if scope not in ("backend", "pool", "site"):
            raise NotFound(f"cannot drain a {scope!r}: expected backend, pool or site")
        members = self._members(scope, target_id)
        for i in members:
            self.drained[i] = value
            self._update_routable(i, now)
        return [self.backends[i].id for i in members]

    def trip(self, backend_id: str, now: float, reason: str = "opened by an operator") -> None:
        """Open a backend's circuit now; it probes back like any open breaker."""
        i = self._position(backend_id)
        self.breakers[i].trip(now, self.rng, reason)
        self._update_routable(i, now)

    def reset_breaker(self, backend_id: str, now: float) -> None:
        """Close a backend's circuit now and forget its failures."""
        i = self._position(backend_id)
        self.breakers[i].reset()
        self._update_routable(i, now)

    def detect_outliers(self, now: float) -> list[str]:
        """Eject backends whose success ratio trails their model's peers; returns their ids."""
        ejected: list[str] = []
        window = self.routing.availability.windows_s[0]
        reports = {
            r.id: (r.successes, r.attempts)
            for r in self.availability.report(now, "backend")
            if r.window_s == window
        }
        for group in self._by_model.values():
            members = group.indices.tolist()
            counts = [reports.get(self.backends[i].id, (0, 0)) for i in members]
            already = sum(1 for i in members if self.breakers[i].state_at(now) != "closed")
            for position in find_outliers(counts, already, self.routing.outliers):
                i = members[position]
                ok, total = counts[position]
                self.breakers[i].trip(now, self.rng, f"outlier: success ratio {ok / total:.3f}")
                self._update_routable(i, now)
                ejected.append(self.backends[i].id)
        return ejected

    # ------------------------------------------------------------------ derived views

    def metrics_fresh(self, indices: IndexArray, now: float) -> Mask:
        """Which of `indices` have engine metrics younger than `stale_after_s`."""
        fresh: Mask = self.metrics_at[indices] >= now - self.routing.probes.stale_after_s
        return fresh

    def metrics_stale(self, indices: IndexArray, now: float) -> Mask:
        """Which of `indices` had engine metrics once but none younger than `stale_after_s`:
        unknown state (a backend never scraped has no metrics source and is not stale)."""
        return self.load_masks(indices, now)[1]

    def saturated(self, indices: IndexArray, now: float, share: float = 1.0) -> Mask:
        """Which of `indices` are saturated at `share` of the thresholds; unknown is not."""
        return self.load_masks(indices, now, share)[0]

    def load_masks(self, indices: IndexArray, now: float, share: float = 1.0) -> tuple[Mask, Mask]:
        """(saturated, stale) for `indices`. Saturated: fresh metrics at or over `share` of a
        threshold (waiting, KV usage), or in-flight at the per-replica cap when one is set."""
        stamps = self.metrics_at[indices]
        fresh = stamps >= now - self.routing.probes.stale_after_s
        saturated: Mask = fresh & (self.pressure[indices] >= share)
        stale: Mask = ~fresh & (stamps > -np.inf)
        per_replica = self.routing.saturation.max_in_flight_per_replica
        if per_replica is not None:
            cap = np.maximum(np.ceil(per_replica * share * self.capacity[indices]), 1)
            saturated |= self.in_flight[indices] >= cap
        return saturated, stale

    def latency_estimates(self, indices: IndexArray, now: float) -> tuple[FloatArray, FloatArray]:
        """(TTFT, ITL) EWMAs of `indices`; unknown or stale ones take the median of the known
        ones (or the configured prior), so an unmeasured backend is neither best nor worst."""
        horizon = now - self.routing.latency_stale_after_s
        return (
            _with_prior(
                self.ttft_s[indices],
                self.ttft_at[indices] >= horizon,
                self.routing.latency_prior_ttft_s,
            ),
            _with_prior(
                self.itl_s[indices],
                self.itl_at[indices] >= horizon,
                self.routing.latency_prior_itl_s,
            ),
        )

    def snapshot(self, now: float) -> dict[str, Any]:
        """JSON-ready state of every backend plus availability, for the admin endpoint."""
        self.refresh(now)
        return fleet_snapshot(self, now)


def _with_prior(values: FloatArray, known: Mask, prior: float) -> FloatArray:
    if np.count_nonzero(known) == len(known):  # a recent stamp implies a value
        return values
    fill = float(np.median(values[known])) if np.count_nonzero(known) else prior
    result: FloatArray = np.where(known, values, fill)
    return result
