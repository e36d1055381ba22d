"""Routing policies: pure functions that pick one backend among already-allowed candidates.

Every policy has ONE signature::

    choose(candidates, request, view, rng, now) -> Backend | None

`candidates` were filtered by placement, health and saturation before; a policy only ranks.
It returns None only when `candidates` is empty. Ties are broken with `rng`, never by list
order, so equal backends share load. All reads go through `view` (a `FleetView`) as numpy vectors,
which keeps a decision over 1,000 backends in microseconds.

  least_in_flight           fewest in-flight requests per unit of capacity (the default)
  least_outstanding_tokens  fewest outstanding tokens (this request included) per unit of capacity
  power_of_two              two random candidates, the less loaded wins (O(1))
  latency_aware             network round trip + expected TTFT and decode time, inflated by load
  affinity                  tenant-scoped rendezvous hash of the affinity key, bounded by a load
                            cap; falls back to another policy (no key, or every home over the cap)
  round_robin               the baseline: the fleet's request counter modulo the candidates
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple, Protocol

import numpy as np

from fleetgate.routing.config import RoutingSettings
from fleetgate.routing.hashing import rendezvous_scores, stable_hash
from fleetgate.routing.index import Backend, FloatArray, IndexArray
from fleetgate.routing.view import FleetView

FEW_CANDIDATES = 16
"""Up to this many candidates, the lowest score is found without numpy (same answer)."""
LATENCY_OUTPUT_HORIZON = 256
"""Output tokens the latency-aware policy prices in (a request's first seconds of decoding)."""


class RouteRequest(NamedTuple):
    """What routing knows about one request (a NamedTuple: immutable, and cheaper to build than
    a frozen dataclass; one is built for every request)."""

    tenant_id: str | None
    model_id: str
    input_tokens: int
    max_output_tokens: int
    affinity_key: str | None = None
    priority: int = 1
    stream: bool = False

    @property
    def tokens(self) -> int:
        """Tokens this request may occupy: input plus the most output it may produce."""
        return max(self.input_tokens, 0) + max(self.max_output_tokens, 0)


class RoutingPolicy(Protocol):
    """The one shape of every routing policy."""

    def __call__(
        self,
        candidates: Sequence[Backend],
        request: RouteRequest,
        view: FleetView,
        rng: random.Random,
        now: float,
    ) -> Backend | None: ...


Score = Callable[[IndexArray, RouteRequest, FleetView, float], FloatArray]
"""Per-candidate cost from (fleet positions, request, view, now); the lowest cost wins."""


def lowest_score(score: Score) -> RoutingPolicy:
    """The policy that picks the candidate with the lowest `score` (ties broken with `rng`);
    it keeps the scoring function's name and docstring."""

    def choose(
        candidates: Sequence[Backend],
        request: RouteRequest,
        view: FleetView,
        rng: random.Random,
        now: float,
    ) -> Backend | None:
        idx = view.indices_of(candidates)
        count = len(idx)
        if count <= 1:  # nothing to rank
            return candidates[0] if count else None
        scores = score(idx, request, view, now)
        if count <= FEW_CANDIDATES:
            return candidates[lowest_of_few(scores, rng)]
        return candidates[lowest_of_many(scores, rng)]

    functools.update_wrapper(choose, score)
    return choose


def lowest_of_many(scores: FloatArray, rng: random.Random) -> int:
    """The position of the lowest score, ties broken with `rng`."""
    first = int(scores.argmin())
    ties = scores == scores[first]
    count = int(np.count_nonzero(ties))
    if count == 1:
        return first
    return int(np.flatnonzero(ties)[rng.randrange(count)])


def lowest_of_few(scores: FloatArray, rng: random.Random) -> int:
    """`lowest_of_many` in plain Python, for a few scores (numpy's calls cost more there):
    the same answer and the same draw. Scores with NaN go to `lowest_of_many`."""
    values: list[float] = scores.tolist()
    if math.isnan(sum(values)):  # NaN somewhere (or infinities of both signs)
        return lowest_of_many(scores, rng)
    low = min(values)
    if values.count(low) == 1:
        return values.index(low)
    ties = [position for position, value in enumerate(values) if value == low]
    return ties[rng.randrange(len(ties))]


@lowest_score
def least_in_flight(
    idx: IndexArray, request: RouteRequest, view: FleetView, now: float
) -> FloatArray:
    """Fewest in-flight requests per unit of capacity (plain fewest when capacities are equal)."""
    return view.load[idx]


@lowest_score
def least_outstanding_tokens(
    idx: IndexArray, request: RouteRequest, view: FleetView, now: float
) -> FloatArray:
    """Fewest outstanding tokens, counting this request's, per unit of capacity."""
    return (view.outstanding_tokens[idx] + request.tokens) / view.capacity[idx]


@lowest_score
def latency_aware(
    idx: IndexArray, request: RouteRequest, view: FleetView, now: float
) -> FloatArray:
    """Lowest expected latency: the site's network round trip plus (TTFT + ITL x the first
    output tokens), inflated by in-flight requests per unit of capacity. Orbital sites pay their
    round trip here; unmeasured backends take their peers' median latency."""
    ttft, itl = view.latency_estimates(idx, now)
    output = min(max(request.max_output_tokens, 1), LATENCY_OUTPUT_HORIZON)
    return view.rtt_s[idx] + (ttft + itl * output) * (1.0 + view.load[idx])


def power_of_two(
    candidates: Sequence[Backend],
    request: RouteRequest,
    view: FleetView,
    rng: random.Random,
    now: float,
) -> Backend | None:
    """Two distinct random candidates; the one with fewer in-flight per capacity wins."""
    count = len(candidates)
    if count <= 1:
        return candidates[0] if count else None
    first = rng.randrange(count)
    second = rng.randrange(count - 1)
    second += second >= first
    idx = view.indices_of(candidates)
    a, b = int(idx[first]), int(idx[second])
    load_a = (view.in_flight[a] + 1) / view.capacity[a]
    load_b = (view.in_flight[b] + 1) / view.capacity[b]
    return candidates[second] if load_b < load_a else candidates[first]


def round_robin(
    candidates: Sequence[Backend],
    request: RouteRequest,
    view: FleetView,
    rng: random.Random,
    now: float,
) -> Backend | None:
    """The next candidate by the fleet's request counter: the baseline, blind to load."""
    if not candidates:
        return None
    return candidates[view.requests_started % len(candidates)]


@dataclass(frozen=True, slots=True)
class Affinity:
    """Prefix/session affinity for prompt-cache reuse, as a policy wrapping `fallback`.

    The key is hashed together with the tenant id, so two tenants using the same key never share
    a home (no cross-tenant cache probing). The home is the rendezvous-hash winner among
    candidates whose load after this request stays under `load_factor` x the mean load per unit
    of capacity (bounded-load hashing): a hot key spills to its next home, not anywhere.
    """

    fallback: RoutingPolicy
    load_factor: float = 1.25

    def __call__(
        self,
        candidates: Sequence[Backend],
        request: RouteRequest,
        view: FleetView,
        rng: random.Random,
        now: float,
    ) -> Backend | None:
        if request.affinity_key is None or not candidates:
            return self.fallback(candidates, request, view, rng, now)
        idx = view.indices_of(candidates)
        capacity = view.capacity[idx]
        in_flight = view.in_flight[idx]
        cap = self.load_factor * (in_flight.sum() + 1.0) / capacity.sum()
        under_cap = (in_flight + 1.0) / capacity <= cap
        if not under_cap.any():
            return self.fallback(candidates, request, view, rng, now)
        key = stable_hash(request.tenant_id or "", request.affinity_key)
        scores = rendezvous_scores(key, view.salts[idx], capacity)
        return candidates[int(np.argmax(np.where(under_cap, scores, -1.0)))]


POLICIES: Mapping[str, RoutingPolicy] = MappingProxyType(
    {
        "least_in_flight": least_in_flight,
        "least_outstanding_tokens": least_outstanding_tokens,
        "power_of_two": power_of_two,
        "latency_aware": latency_aware,
        "affinity": Affinity(least_outstanding_tokens),
        "round_robin": round_robin,
    }
)
"""Every policy by name; `affinity` here wraps least_outstanding_tokens (see `build_policy`)."""


def build_policy(name: str, routing: RoutingSettings) -> RoutingPolicy:
    """The policy called `name`, with `affinity` configured from `routing`."""
    if name == "affinity":
        return Affinity(POLICIES[routing.affinity_fallback], routing.affinity_load_factor)
    try:
        return POLICIES[name]
    except KeyError:
        raise KeyError(
            f"unknown routing policy {name!r}; expected one of {list(POLICIES)}"
        ) from None
