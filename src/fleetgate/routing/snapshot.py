"""The admin view of a fleet: every backend's load, latency, metrics, health and drain state,
plus availability, as JSON-ready dictionaries (no infinities, no numpy types)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fleetgate.routing.fleet import Fleet


def _finite(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _drain(fleet: Fleet, i: int) -> str:
    if not fleet.health.drained[i]:
        return "none"
    return "draining" if fleet.load.in_flight[i] > 0 else "drained"


def _row(fleet: Fleet, i: int, fresh: bool, now: float) -> dict[str, Any]:
    b = fleet.index.backends[i]
    load, health = fleet.load, fleet.health
    breaker = health.breakers[i]
    metrics = {
        "waiting": float(load.waiting[i]),
        "running": float(load.running[i]),
        "kv_usage": float(load.kv_usage[i]),
        "fresh": fresh,
        "age_s": _finite(now - load.metrics_at[i]),
    }
    return {
        "id": b.id,
        "url": b.url,
        "model": b.model_id,
        "pool": b.pool_id,
        "site": b.site_id,
        "in_flight": int(load.in_flight[i]),
        "outstanding_tokens": int(load.outstanding_tokens[i]),
        "ttft_ewma_s": _finite(load.ttft_s[i]),
        "itl_ewma_s": _finite(load.itl_s[i]),
        "metrics": metrics,
        "breaker": {
            "state": breaker.state,
            "reason": breaker.last_reason,
            "reopen_at": _finite(breaker.reopen_at),
        },
        "probe_ok": bool(health.probe_ok[i]),
        "drain": _drain(fleet, i),
        "routable": bool(health.routable[i]),
    }


def fleet_snapshot(fleet: Fleet, now: float) -> dict[str, Any]:
    """Every backend's live state and every availability window at `now` (the fleet is
    refreshed to `now` first).

    A drained backend reads "draining" while requests are still in flight on it, "drained" once
    none is: that is when an operator may take it down.
    """
    fleet.refresh(now)
    fresh = fleet.load.metrics_fresh(np.arange(len(fleet.index), dtype=np.int64), now).tolist()
    rows = [_row(fleet, i, fresh[i], now) for i in range(len(fleet.index))]
    return {"now": now, "backends": rows, "availability": fleet.health.availability.snapshot(now)}
