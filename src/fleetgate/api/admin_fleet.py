"""Admin routes for the fleet at runtime: drain and undrain, circuit breakers, availability.

POST /admin/fleet/drain    {"backend"|"pool"|"site": ID}   stop routing new requests there;
                                                          in-flight requests finish
POST /admin/fleet/undrain  {"backend"|"pool"|"site": ID}   route there again
POST /admin/fleet/backends/{id}/trip                       open a backend's circuit now
POST /admin/fleet/backends/{id}/reset                      close it and forget its failures
GET  /admin/fleet/availability[?scope=backend|pool|site|end_to_end]
                                                          rolling ratios, nines, error-budget burn
(`GET /admin/fleet`, every backend's live state, is in `fleetgate.api.admin`.)
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fleetgate.api.admin import admin_body
from fleetgate.api.handler_support import endpoint, require_admin
from fleetgate.errors import InvalidRequest
from fleetgate.gateway.process import Gateway
from fleetgate.routing.availability import SCOPES
from fleetgate.routing.health import DrainScope

DRAIN_SCOPES: tuple[DrainScope, ...] = ("backend", "pool", "site")


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def drain_target(body: dict[str, Any]) -> tuple[DrainScope, str]:
    """The one scope and id a drain body names, e.g. {"site": "memphis"}."""
    named = [scope for scope in DRAIN_SCOPES if scope in body]
    if len(named) != 1:
        raise InvalidRequest(
            'expected exactly one of "backend", "pool" or "site" with an id, '
            'e.g. {"site": "memphis"}'
        )
    scope = named[0]
    target = body[scope]
    if not isinstance(target, str) or not target:
        raise InvalidRequest(f"{scope}: expected a non-empty id, got {target!r}", param=scope)
    return scope, target


async def _set_drained(request: Request, gw: Gateway, *, drained: bool) -> Response:
    require_admin(request, gw)
    scope, target = drain_target(await admin_body(request))
    health = gw.fleet.health
    change = health.drain if drained else health.undrain
    ids = change(scope, target, gw.now())
    positions = [gw.fleet.index.positions[i] for i in ids]
    in_flight = int(sum(gw.fleet.load.in_flight[p] for p in positions))
    return _json(
        {
            "scope": scope,
            "id": target,
            "backends": ids,
            "drained": [bool(health.drained[p]) for p in positions],
            "in_flight": in_flight,
        }
    )


@endpoint("anthropic", "admin")
async def drain(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /admin/fleet/drain: new requests avoid the target; in-flight ones finish."""
    return await _set_drained(request, gw, drained=True)


@endpoint("anthropic", "admin")
async def undrain(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /admin/fleet/undrain: route to the target again."""
    return await _set_drained(request, gw, drained=False)


def _set_breaker(request: Request, gw: Gateway, *, tripped: bool) -> Response:
    require_admin(request, gw)
    backend_id = request.path_params["backend_id"]
    health = gw.fleet.health
    if tripped:
        health.trip(backend_id, gw.now(), gw.rng)
    else:
        health.reset_breaker(backend_id, gw.now())
    position = gw.fleet.index.positions[backend_id]
    breaker = health.breakers[position]
    return _json(
        {
            "backend": backend_id,
            "breaker": breaker.state,
            "reason": breaker.last_reason,
            "routable": bool(health.routable[position]),
        }
    )


@endpoint("anthropic", "admin")
async def trip(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /admin/fleet/backends/{id}/trip: open the circuit (it probes back later)."""
    return _set_breaker(request, gw, tripped=True)


@endpoint("anthropic", "admin")
async def reset(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /admin/fleet/backends/{id}/reset: close the circuit now."""
    return _set_breaker(request, gw, tripped=False)


@endpoint("anthropic", "admin")
async def availability(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /admin/fleet/availability: success ratio, nines and burn per scope and window."""
    require_admin(request, gw)
    scope = request.query_params.get("scope")
    if scope is not None and scope not in SCOPES:
        raise InvalidRequest(
            f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}", param="scope"
        )
    now = gw.now()
    tracker = gw.fleet.health.availability
    settings = tracker.settings
    return _json(
        {
            "slo": settings.slo,
            "windows_s": list(settings.windows_s),
            "availability": tracker.snapshot(now, scope),
        }
    )


ROUTES = [
    Route("/admin/fleet/drain", drain, methods=["POST"]),
    Route("/admin/fleet/undrain", undrain, methods=["POST"]),
    Route("/admin/fleet/backends/{backend_id}/trip", trip, methods=["POST"]),
    Route("/admin/fleet/backends/{backend_id}/reset", reset, methods=["POST"]),
    Route("/admin/fleet/availability", availability, methods=["GET"]),
]
