"""The router: placement, health, saturation and priority, then one policy's choice.

One decision, in order (each step a vector mask over the model's backends):
  1. backends serving the model                       none -> NotFound
  2. placement (tenant policy; dedicated pools)       none -> NoAllowedPool, naming the policy
  3. routable (not drained, breaker admits, probes ok, not excluded by this request's failover)
                                                      none -> NoAllowedPool, saying why
  4. not saturated at the request's priority class's share of the thresholds
                                                      none -> Overloaded (529 / 503) + retry-after
  5. spillover: the tenant's dedicated pools first, shared pools after; backends whose engine
     metrics went stale only when no fresh one is left; soft site avoidance for failover
  6. the model's policy ranks what is left.
Placement is computed once per (tenant, model) and cached; the rest costs microseconds.
For requests without failover exclusions, steps 3-5 are kept per (placement, share) in a
`RouteCache` while the masks they read are unchanged (its key and invariant are written down in
`fleetgate.routing.route_cache`). The router reads the `routing` section its `Fleet` was built
with, and a tenant through `RoutedTenant` (`fleetgate.settings.RoutedTenant` is one).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleetgate.errors import NoAllowedPool, NotFound, Overloaded
from fleetgate.routing.config import PlacementSettings, RoutedTenant
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.index import Backend, Candidates, IndexArray, Mask
from fleetgate.routing.placement import OPEN_POLICY, describe, place, refusal_summary
from fleetgate.routing.policies import RouteRequest, RoutingPolicy, build_policy
from fleetgate.routing.retry import RetryBudget
from fleetgate.routing.route_cache import RouteCache, Shortlist, freshness_bounds

PLACEMENT_CACHE_LIMIT = 10_000

SITE_HEADER = "x-fleetgate-site"
POOL_HEADER = "x-fleetgate-pool"
BACKEND_HEADER = "x-fleetgate-backend"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """One routing decision, for the response headers and the access log."""

    backend: Backend
    policy: str
    tenant_id: str | None
    model_id: str
    priority: int
    tier: str
    serving: int
    allowed: int
    routable: int
    open: int

    @property
    def headers(self) -> dict[str, str]:
        """Response headers naming where the request was served."""
        b = self.backend
        return {SITE_HEADER: b.site_id, POOL_HEADER: b.pool_id, BACKEND_HEADER: b.id}

    def as_log(self) -> dict[str, Any]:
        """A flat record for the access log."""
        b = self.backend
        return {
            "backend": b.id,
            "pool": b.pool_id,
            "site": b.site_id,
            "provider": b.provider,
            "owner": b.owner,
            "jurisdiction": b.jurisdiction,
            "policy": self.policy,
            "tenant": self.tenant_id,
            "model": self.model_id,
            "priority": self.priority,
            "tier": self.tier,
            "serving": self.serving,
            "allowed": self.allowed,
            "routable": self.routable,
            "open": self.open,
        }


@dataclass(frozen=True, slots=True)
class _Placed:
    policy: PlacementSettings
    candidates: Candidates
    dedicated: Mask
    has_dedicated: bool
    serving: int
    kept: RouteCache = field(default_factory=RouteCache)
    """Steps 3-5 per saturation share, for requests without exclusions."""


class Router:
    """Chooses a backend for each request; state lives in the `Fleet` it is given."""

    def __init__(
        self, fleet: Fleet, on_decision: Callable[[RouteDecision], None] | None = None
    ) -> None:
        self.routing = fleet.routing
        self.fleet = fleet
        self.on_decision = on_decision
        self._policy_names = {m: self.routing.policy_for(m) for m in fleet.index.model_ids()}
        names = {self.routing.default, *self._policy_names.values()}
        self._policies: dict[str, RoutingPolicy] = {n: build_policy(n, self.routing) for n in names}
        self._placed: dict[tuple[str | None, str], _Placed] = {}
        self.retry_budget = RetryBudget(self.routing.retry)
        self._shares = dict(self.routing.priority.saturation_share)

    @property
    def max_attempts(self) -> int:
        """Attempts per client request, the first one included."""
        return self.routing.retry.max_attempts

    def may_retry(self, now: float) -> bool:
        """Whether the retry budget allows one more failover now (and spends it)."""
        return self.retry_budget.try_spend(now)

    def retry_backoff_s(self, attempt: int, rng: random.Random) -> float:
        """Jittered exponential backoff before retry number `attempt`."""
        return self.retry_budget.backoff_s(attempt, rng)

    def priority_for(self, tenant: RoutedTenant | None) -> int:
        """The tenant's priority class: its own, else its plan's or tier's, else the default."""
        classes = self.routing.priority
        if tenant is None:
            return classes.default
        if tenant.priority is not None:
            return tenant.priority
        if tenant.plan is not None and tenant.plan in classes.by_plan:
            return classes.by_plan[tenant.plan]
        if tenant.tier is not None and tenant.tier in classes.by_tier:
            return classes.by_tier[tenant.tier]
        return classes.default

    def choose(
        self,
        request: RouteRequest,
        tenant: RoutedTenant | None,
        now: float,
        rng: random.Random,
        exclude: frozenset[str] = frozenset(),
    ) -> Backend:
        """The backend for `request`; raises NotFound, NoAllowedPool or Overloaded. The whole
        decision is built only for the `on_decision` hook."""
        if self.on_decision is not None:
            return self.decide(request, tenant, now, rng, exclude).backend
        return self._choose(request, tenant, now, rng, exclude, frozenset(), None)[0]

    def decide(
        self,
        request: RouteRequest,
        tenant: RoutedTenant | None,
        now: float,
        rng: random.Random,
        exclude: frozenset[str] = frozenset(),
        avoid_sites: frozenset[str] = frozenset(),
        first_attempt: bool | None = None,
    ) -> RouteDecision:
        """Like `choose`, returning the whole decision.

        `exclude` is hard (backends this request already failed on) and their sites are avoided
        softly, so failover tries another site first; `avoid_sites` adds sites to avoid softly.
        `first_attempt` says whether the decision counts as a client request's first attempt for
        the retry budget (default: when `exclude` is empty; a queued request asking again is not).
        """
        chosen, name, tenant_id, placed, shortlist = self._choose(
            request, tenant, now, rng, exclude, avoid_sites, first_attempt
        )
        decision = RouteDecision(
            backend=chosen,
            policy=name,
            tenant_id=tenant_id,
            model_id=request.model_id,
            priority=request.priority,
            tier=shortlist.tier,
            serving=placed.serving,
            allowed=len(placed.candidates),
            routable=shortlist.routable,
            open=shortlist.open,
        )
        if self.on_decision is not None:
            self.on_decision(decision)
        return decision

    def _choose(
        self,
        request: RouteRequest,
        tenant: RoutedTenant | None,
        now: float,
        rng: random.Random,
        exclude: frozenset[str],
        avoid_sites: frozenset[str],
        first_attempt: bool | None,
    ) -> tuple[Backend, str, str | None, _Placed, Shortlist]:
        """Steps 1-6: (backend, policy name, tenant id, placement, steps 3-5)."""
        fleet = self.fleet
        fleet.refresh(now)
        if first_attempt if first_attempt is not None else not exclude:
            self.retry_budget.record_request(now)
        tenant_id = tenant.id if tenant is not None else request.tenant_id
        placed = self._placement(tenant, tenant_id, request.model_id)
        share = self._shares.get(request.priority, 1.0)
        keepable = not (exclude or avoid_sites) and share in fleet.load.saturation_shares
        shortlist = placed.kept.get(share, fleet, now) if keepable else None
        if shortlist is None:
            shortlist = self._shortlist(
                placed, tenant_id, request, share, now, exclude, avoid_sites
            )
            if keepable:
                placed.kept.keep(share, shortlist)
        name = self._policy_names.get(request.model_id, self.routing.default)
        chosen = self._policies[name](shortlist.candidates, request, fleet.view, rng, now)
        if chosen is None:  # a policy returns None only for no candidates; they are non-empty
            raise self._overloaded(placed.candidates.indices, request, share, now)
        return chosen, name, tenant_id, placed, shortlist

    def _shortlist(
        self,
        placed: _Placed,
        tenant_id: str | None,
        request: RouteRequest,
        share: float,
        now: float,
        exclude: frozenset[str],
        avoid_sites: frozenset[str],
    ) -> Shortlist:
        """Steps 3-5 (routable, not saturated, spillover); raises when nothing is left."""
        fleet = self.fleet
        index = fleet.index
        idx = placed.candidates.indices
        usable = fleet.health.routable[idx]
        if exclude:
            positions = index.positions
            tried = [positions[b] for b in exclude if b in positions]
            excluded = np.zeros(len(index), dtype=bool)
            excluded[tried] = True
            usable = usable & ~excluded[idx]
            avoid_sites = avoid_sites | {index.backends[i].site_id for i in tried}
        routable = int(np.count_nonzero(usable))
        if not routable:
            raise NoAllowedPool(self._unhealthy(placed, tenant_id, request.model_id, exclude))
        saturated, stale = fleet.load.load_masks(idx, now, share)
        open_ = usable & ~saturated
        open_count = int(np.count_nonzero(open_))
        if not open_count:
            raise self._overloaded(idx[usable], request, share, now)
        mask, tier = self._spillover(placed, idx, open_, stale, avoid_sites)
        metrics_at = fleet.load.metrics_at[idx]
        fresh = metrics_at >= now - self.routing.probes.stale_after_s
        stale_below, fresh_from = freshness_bounds(metrics_at, fresh)
        return Shortlist(
            candidates=placed.candidates.subset(mask),
            tier=tier,
            routable=routable,
            open=open_count,
            health_version=fleet.health.version,
            load_version=fleet.load.version,
            stale_below=stale_below,
            fresh_from=fresh_from,
            fresh=idx[fresh],
        )

    # ------------------------------------------------------------------ steps

    def _placement(
        self, tenant: RoutedTenant | None, tenant_id: str | None, model_id: str
    ) -> _Placed:
        policy = tenant.placement if tenant is not None else OPEN_POLICY
        key = (tenant_id, model_id)
        cached = self._placed.get(key)
        if cached is not None and (cached.policy is policy or cached.policy == policy):
            return cached
        serving = self.fleet.index.backends_for_model(model_id)
        if not serving:
            raise NotFound(f"no backend serves model {model_id!r}")
        allowed = place(policy, serving, tenant_id)
        if not allowed:
            who = f"tenant {tenant_id!r}" if tenant_id is not None else "a request without tenant"
            raise NoAllowedPool(
                f"{who} may not use any of the {len(serving)} backends serving model "
                f"{model_id!r}: placement policy ({describe(policy)}) refuses them "
                f"({refusal_summary(policy, serving, tenant_id)})"
            )
        dedicated = np.fromiter(
            (tenant_id is not None and tenant_id in b.dedicated_to for b in allowed),
            dtype=bool,
            count=len(allowed),
        )
        if len(self._placed) >= PLACEMENT_CACHE_LIMIT:
            self._placed.clear()
        placed = _Placed(
            policy, allowed, dedicated, bool(np.count_nonzero(dedicated)), len(serving)
        )
        self._placed[key] = placed
        return placed

    def _spillover(
        self,
        placed: _Placed,
        idx: IndexArray,
        open_: Mask,
        stale: Mask,
        avoid_sites: frozenset[str],
    ) -> tuple[Mask, str]:
        mask, tier = open_, "shared"
        if self.routing.prefer_dedicated and placed.has_dedicated:
            dedicated = open_ & placed.dedicated
            if np.count_nonzero(dedicated):
                mask, tier = dedicated, "dedicated"
        if self.routing.prefer_known_metrics:
            known = mask & ~stale
            if np.count_nonzero(known):
                mask = known
        if avoid_sites:
            index = self.fleet.index
            codes = [index.site_codes[s] for s in avoid_sites if s in index.site_codes]
            avoided = np.zeros(len(index.site_codes), dtype=bool)
            avoided[codes] = True
            elsewhere = mask & ~avoided[index.site_of[idx]]
            if np.count_nonzero(elsewhere):
                mask = elsewhere
        return mask, tier

    def _unhealthy(
        self, placed: _Placed, tenant_id: str | None, model_id: str, exclude: frozenset[str]
    ) -> str:
        health = self.fleet.health
        reasons: dict[str, int] = {}
        for i in placed.candidates.indices.tolist():
            backend = self.fleet.index.backends[i]
            if health.drained[i]:
                why = "drained"
            elif not health.probe_ok[i]:
                why = "failing health probes"
            elif health.breakers[i].state != "closed":
                why = f"circuit {health.breakers[i].state.replace('_', '-')}"
            elif backend.id in exclude:
                why = "already tried by this request"
            else:
                continue
            reasons[why] = reasons.get(why, 0) + 1
        detail = ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))
        who = f"tenant {tenant_id!r}" if tenant_id is not None else "this request"
        return (
            f"no healthy backend for model {model_id!r} among the {len(placed.candidates)} "
            f"that {who} may use (placement policy: {describe(placed.policy)}): {detail}"
        )

    def _overloaded(
        self, idx: IndexArray, request: RouteRequest, share: float, now: float
    ) -> Overloaded:
        limits = self.routing.saturation
        ttft, _ = self.fleet.load.latency_estimates(idx, now)
        wait = float(ttft.min()) if len(ttft) else limits.retry_after_s
        seconds = math.ceil(min(max(wait, limits.retry_after_s), limits.max_retry_after_s))
        shed = f" (priority {request.priority} sheds at {share:.0%} of them)" if share < 1 else ""
        message = (
            f"every allowed backend for model {request.model_id!r} is saturated: "
            f"{len(idx)} at or over their limits (waiting >= {limits.max_waiting:g} or KV-cache "
            f"usage >= {limits.max_kv_usage:.0%}){shed}; retry after {seconds} s"
        )
        return Overloaded(message, headers={"retry-after": str(seconds), "x-should-retry": "true"})
