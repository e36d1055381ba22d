"""The tenant's own usage: each window's utilization and reset time.

`GET /v1/usage` (and `/api/oauth/usage`, the path Claude Code's `/usage` reads) answer with the
windows of the caller's plan (`five_hour`, `seven_day`, per-family weekly, extra usage) or the
buckets of its tier, each with `utilization` (0-100) and `resets_at` (RFC 3339), so clients can
show "you've used 42% of your session".
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from fleetgate.api.handler_support import authenticate, endpoint
from fleetgate.gateway.process import Gateway


@endpoint("anthropic", "usage")
async def usage(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /v1/usage"""
    tenant_id = authenticate(request, gw)
    tenant = gw.tenants.get(tenant_id)
    report = {} if tenant is None else await gw.limiter.usage_report(tenant)
    return Response(orjson.dumps(report), media_type="application/json")
