"""The admin view of a fleet: every backend's load, latency, metrics, health and drain state,
plus availability, as JSON-ready dictionaries (no infinities, no numpy types)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fleetgate.routing.fleet import FleetState


def _finite(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _drain(fleet: FleetState, i: int) -> str:
    if not fleet.drained[i]:
        return "none"
    return "draining" if fleet.in_flight[i] > 0 else "drained"


def fleet_snapshot(fleet: FleetState, now: float) -> dict[str, Any]:
    """Every backend's live state and every availability window at `now`.

    A drained backend reads "draining" while requests are still in flight on it, "drained" once
    none is: that is when an operator may take it down.
    """
    fresh = fleet.metrics_fresh(np.arange(len(fleet.backends), dtype=np.int64), now)
    rows = []
    for i, b in enumerate(fleet.backends):
        breaker = fleet.breakers[i]
        rows.append({
            "id": b.id, "url": b.url, "model": b.model_id, "pool": b.pool_id,
            "site": b.site_id, "in_flight": int(fleet.in_flight[i]),
            "outstanding_tokens": int(fleet.outstanding_tokens[i]),
            "ttft_ewma_s": _finite(fleet.ttft_s[i]), "itl_ewma_s": _finite(fleet.itl_s[i]),
            "metrics": {
                "waiting": float(fleet.waiting[i]), "running": float(fleet.running[i]),
                "kv_usage": float(fleet.kv_usage[i]), "fresh": bool(fresh[i]),
                "age_s": _finite(now - fleet.metrics_at[i]),
            },
            "breaker": {"state": breaker.state, "reason": breaker.last_reason,
                        "reopen_at": _finite(breaker.reopen_at)},
            "probe_ok": bool(fleet.probe_ok[i]), "drain": _drain(fleet, i),
            "routable": bool(fleet.routable[i]),
        })  # fmt: skip
    return {"now": now, "backends": rows, "availability": fleet.availability.snapshot(now)}
