"""The load of every backend: what changes with each request and each engine-metric scrape.

Owns, per backend position (see `fleetgate.routing.index`): requests in flight (also per unit of
capacity), outstanding tokens, the TTFT and inter-token latency averages (EWMAs), and the engine
metrics scraped from it (waiting, running, KV-cache usage, their pressure against the saturation
thresholds). From these it derives the saturated and stale masks routing filters with.

Engine metrics older than `routing.probes.stale_after_s`, and latency averages older than
`routing.latency_stale_after_s`, count as unknown: never as idle, never as saturated.

`version` counts every change that can change a saturated or stale mask at a watched share
other than the freshness horizon moving with the clock; `fleetgate.routing.route_cache` relies
on it. Pure: every method takes `now` where time matters.
"""

from __future__ import annotations

import math

import numpy as np

from fleetgate.routing.config import RoutingSettings
from fleetgate.routing.index import FleetIndex, FloatArray, IndexArray, Mask


class FleetLoad:
    """Per-backend load vectors, indexed by fleet position; `begin`/`first_token`/`finish` take
    positions (`fleetgate.routing.fleet.Fleet` looks them up once per call)."""

    def __init__(self, index: FleetIndex, routing: RoutingSettings) -> None:
        self.index = index
        self.routing = routing
        count = len(index)
        self.capacity = index.capacity
        self.in_flight: FloatArray = np.zeros(count)
        self.load: FloatArray = np.zeros(count)
        """In-flight requests per unit of capacity."""
        self.outstanding_tokens: FloatArray = np.zeros(count)
        self.ttft_s: FloatArray = np.full(count, np.nan)
        self.itl_s: FloatArray = np.full(count, np.nan)
        self.ttft_at: FloatArray = np.full(count, -np.inf)
        self.itl_at: FloatArray = np.full(count, -np.inf)
        self.waiting: FloatArray = np.zeros(count)
        self.running: FloatArray = np.zeros(count)
        self.kv_usage: FloatArray = np.zeros(count)
        self.pressure: FloatArray = np.zeros(count)
        """The fuller of waiting and KV usage, as a share of its saturation threshold."""
        self.metrics_at: FloatArray = np.full(count, -np.inf)
        self.requests_started = 0
        self.saturation_shares = frozenset({1.0, *routing.priority.saturation_share.values()})
        """The shares of the saturation thresholds that `version` watches."""
        self.version = 0
        """Counts changes that can change a saturated or stale mask at a watched share, other
        than by the freshness horizon moving (see `record_metrics`, `begin`, `finish`)."""
        self._latest = -math.inf  # the latest `now` a decision was made at (`decided_at`)
        per_replica = routing.saturation.max_in_flight_per_replica
        self._caps: list[tuple[float, ...]] | None = None
        """Per backend, the in-flight counts at which it turns saturated at a watched share
        (None without a per-replica cap)."""
        if per_replica is not None:
            shares = sorted(self.saturation_shares)
            caps = [self._in_flight_cap(per_replica, s, self.capacity).tolist() for s in shares]
            self._caps = list(zip(*caps, strict=True))

    @staticmethod
    def _in_flight_cap(per_replica: float, share: float, capacity: FloatArray) -> FloatArray:
        cap: FloatArray = np.maximum(np.ceil(per_replica * share * capacity), 1)
        return cap

    # ------------------------------------------------------------------ request lifecycle

    def begin(self, i: int, tokens: int) -> None:
        """A request of `tokens` estimated tokens (input + max output) was sent to backend `i`."""
        old: float = self.in_flight.item(i)  # Python floats: numpy scalars are slow
        in_flight = old + 1.0
        self.in_flight[i] = in_flight
        self.load[i] = in_flight / self.capacity.item(i)
        self.outstanding_tokens[i] = self.outstanding_tokens.item(i) + max(tokens, 0)
        self.requests_started += 1
        caps = self._caps
        if caps is not None and in_flight in caps[i]:
            self.version += 1

    def first_token(self, i: int, ttft_s: float, now: float) -> None:
        """Backend `i` produced a first token `ttft_s` after the request was sent."""
        self._ewma(self.ttft_s, self.ttft_at, i, ttft_s, now)

    def finish(self, i: int, tokens: int, now: float, itl_s: float | None = None) -> None:
        """A request on backend `i` ended; `tokens` is the count given to `begin`."""
        old: float = self.in_flight.item(i)
        in_flight = max(old - 1.0, 0.0)
        self.in_flight[i] = in_flight
        self.load[i] = in_flight / self.capacity.item(i)
        if in_flight == 0:  # self-healing: nothing in flight holds no tokens
            self.outstanding_tokens[i] = 0.0
        else:
            left = self.outstanding_tokens.item(i) - max(tokens, 0)
            self.outstanding_tokens[i] = max(left, 0.0)
        if itl_s is not None:
            self._ewma(self.itl_s, self.itl_at, i, itl_s, now)
        caps = self._caps
        if caps is not None and old != in_flight and old in caps[i]:
            self.version += 1

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

    # ------------------------------------------------------------------ engine metrics

    def record_metrics(
        self, backend_id: str, waiting: float, running: float, kv_usage: float, now: float
    ) -> None:
        """Engine metrics scraped from a backend (vLLM: waiting, running, KV-cache usage 0..1)."""
        i = self.index.position(backend_id)
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
        (`decided_at`) nor than `stamp`. Then it was fresh for every decision kept so far, and
        stays fresh with the newer stamp wherever it was."""
        if not (
            stamp <= now
            and self._latest <= now
            and stamp >= now - self.routing.probes.stale_after_s
        ):
            return False
        return all((before >= share) == (after >= share) for share in self.saturation_shares)

    def decided_at(self, now: float) -> None:
        """A routing decision is made at `now` (metrics stamped earlier change `version`)."""
        self._latest = max(self._latest, now)

    # ------------------------------------------------------------------ derived masks

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
            cap = self._in_flight_cap(per_replica, share, self.capacity[indices])
            saturated |= self.in_flight[indices] >= cap
        return saturated, stale

    def latency_estimates(self, indices: IndexArray, now: float) -> tuple[FloatArray, FloatArray]:
        """(TTFT, ITL) EWMAs of `indices`; unknown or stale ones take the median of the known
        ones (or the configured prior), so an unmeasured backend is neither best nor worst."""
        routing = self.routing
        horizon = now - routing.latency_stale_after_s
        ttft_known = self.ttft_at[indices] >= horizon
        itl_known = self.itl_at[indices] >= horizon
        return (
            _with_prior(self.ttft_s[indices], ttft_known, routing.latency_prior_ttft_s),
            _with_prior(self.itl_s[indices], itl_known, routing.latency_prior_itl_s),
        )


def _with_prior(values: FloatArray, known: Mask, prior: float) -> FloatArray:
    if np.count_nonzero(known) == len(known):  # a recent stamp implies a value
        return values
    fill = float(np.median(values[known])) if np.count_nonzero(known) else prior
    result: FloatArray = np.where(known, values, fill)
    return result
