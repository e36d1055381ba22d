"""Admin routes for limits: live multipliers (e.g. `five_hour x2`), effective on the next request.

GET  /admin/limits/multipliers                      every live multiplier
POST /admin/limits/multipliers {"plan", "window", "factor"}
GET  /admin/limits/usage/{tenant}                   a tenant's windows or buckets
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fleetgate.api.admin import admin_body
from fleetgate.api.handler_support import endpoint, require_admin
from fleetgate.errors import InvalidRequest, NotFound
from fleetgate.gateway.process import Gateway


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@endpoint("anthropic", "admin")
async def list_multipliers(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /admin/limits/multipliers"""
    require_admin(request, gw)
    return _json({"multipliers": await gw.limiter.get_multipliers()})


@endpoint("anthropic", "admin")
async def set_multiplier(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /admin/limits/multipliers: scale one plan window for every replica."""
    require_admin(request, gw)
    body = await admin_body(request)
    plan, window, factor = body.get("plan"), body.get("window"), body.get("factor")
    if not isinstance(plan, str) or not isinstance(window, str):
        raise InvalidRequest("plan and window: expected strings, e.g. max-5x and five_hour")
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise InvalidRequest(f"factor: expected a number, got {factor!r}", param="factor")
    await gw.limiter.set_multiplier(plan, window, float(factor))
    return _json({"multipliers": await gw.limiter.get_multipliers()})


@endpoint("anthropic", "admin")
async def tenant_usage(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /admin/limits/usage/{tenant}"""
    require_admin(request, gw)
    tenant = gw.tenants.get(request.path_params["tenant"])
    if tenant is None:
        raise NotFound(f"tenant: {request.path_params['tenant']} is not in the settings")
    return _json(await gw.limiter.usage_report(tenant))


ROUTES = [
    Route("/admin/limits/multipliers", list_multipliers, methods=["GET"]),
    Route("/admin/limits/multipliers", set_multiplier, methods=["POST"]),
    Route("/admin/limits/usage/{tenant}", tenant_usage, methods=["GET"]),
]
