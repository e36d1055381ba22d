"""Placement and isolation: which backends a tenant's traffic may reach at all.

Applied before any routing choice. Rules, all of which must pass:
  - a pool dedicated to tenants serves only those tenants (and never an unknown tenant);
  - `require_dedicated`: only pools dedicated to this tenant;
  - providers, owners and jurisdictions: on the allow-list when one is given, never on the deny-list
    (names compare case-insensitively);
  - `allow_orbital: false` keeps traffic on the ground.
Pure functions of the settings and the backend's static facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from fleetgate.routing.config import PlacementSettings
from fleetgate.routing.index import Backend, Candidates

OPEN_POLICY = PlacementSettings()
"""The policy of a request without a tenant: everything except dedicated pools."""


def _folded(names: Iterable[str]) -> set[str]:
    return {name.casefold() for name in names}


def _list_refusal(kind: str, value: str, allow: Sequence[str], deny: Sequence[str]) -> str | None:
    folded = value.casefold()
    if allow and folded not in _folded(allow):
        return f"{kind} {value!r} is not in allow_{kind}s {list(allow)}"
    if folded in _folded(deny):
        return f"{kind} {value!r} is in deny_{kind}s"
    return None


def refusal(policy: PlacementSettings, backend: Backend, tenant_id: str | None) -> str | None:
    """Why `policy` keeps `tenant_id` off `backend`, or None when it may go there."""
    if backend.dedicated_to and tenant_id not in backend.dedicated_to:
        return f"pool {backend.pool_id!r} is dedicated to other tenants"
    if policy.require_dedicated and not backend.dedicated_to:
        return f"pool {backend.pool_id!r} is shared and the policy requires dedicated pools"
    if not policy.allow_orbital and backend.orbital:
        return f"site {backend.site_id!r} is orbital and allow_orbital is false"
    return (
        _list_refusal("provider", backend.provider, policy.allow_providers, policy.deny_providers)
        or _list_refusal("owner", backend.owner, policy.allow_owners, policy.deny_owners)
        or _list_refusal(
            "jurisdiction",
            backend.jurisdiction,
            policy.allow_jurisdictions,
            policy.deny_jurisdictions,
        )
    )


def allowed(policy: PlacementSettings, backend: Backend, tenant_id: str | None) -> bool:
    """Whether `tenant_id`, under `policy`, may be served by `backend`."""
    return refusal(policy, backend, tenant_id) is None


def place(policy: PlacementSettings, candidates: Candidates, tenant_id: str | None) -> Candidates:
    """The candidates `policy` allows for `tenant_id`, order kept."""
    mask = np.fromiter(
        (allowed(policy, backend, tenant_id) for backend in candidates),
        dtype=bool,
        count=len(candidates),
    )
    return candidates.subset(mask)


def describe(policy: PlacementSettings) -> str:
    """The non-default rules of `policy`, e.g. ``deny_owners=['spacex'], allow_orbital=false``."""
    parts = []
    for name, value in policy.model_dump().items():
        if value == getattr(OPEN_POLICY, name):
            continue
        if isinstance(value, bool):
            parts.append(f"{name}={str(value).lower()}")
        else:
            parts.append(f"{name}={list(value)}")
    return ", ".join(parts) or "no restrictions"


def refusal_summary(
    policy: PlacementSettings, candidates: Iterable[Backend], tenant_id: str | None
) -> str:
    """Why every candidate was refused, grouped by pool: 'pool p1: owner ... ; pool p2: ...'."""
    by_pool: dict[str, str] = {}
    for backend in candidates:
        reason = refusal(policy, backend, tenant_id)
        if reason is not None and backend.pool_id not in by_pool:
            by_pool[backend.pool_id] = reason
    return "; ".join(f"{pool}: {reason}" for pool, reason in sorted(by_pool.items()))
