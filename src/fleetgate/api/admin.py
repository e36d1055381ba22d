"""The admin namespace `/admin/...`, guarded by its own admin key (never a tenant key).

Keys: list, create (the key is shown once), revoke. Fleet: the live state of every backend.
Later capabilities (multipliers, drain, availability) add their routes here.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fleetgate.api.handler_support import endpoint, read_body, require_admin
from fleetgate.api.json_body import parse_json_body
from fleetgate.errors import InvalidRequest, NotFound
from fleetgate.gateway.process import Gateway
from fleetgate.routing.snapshot import fleet_snapshot

ADMIN_BODY_LIMIT = 64 * 1024


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def admin_body(request: Request) -> dict[str, Any]:
    """The JSON body of an admin request (empty object when there is none)."""
    raw = await read_body(request, ADMIN_BODY_LIMIT)
    if not raw.strip():
        return {}
    return parse_json_body(raw, request.headers.get("content-type"))


@endpoint("anthropic", "admin")
async def list_keys(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /admin/keys[?tenant=T]"""
    require_admin(request, gw)
    records = gw.keys.list(request.query_params.get("tenant"))
    return _json(
        {
            "data": [
                {
                    "key_id": r.key_id,
                    "tenant": r.tenant,
                    "name": r.name,
                    "created_at": r.created_at,
                    "revoked_at": r.revoked_at,
                }
                for r in records
            ]
        }
    )


@endpoint("anthropic", "admin")
async def create_key(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /admin/keys {"tenant": T, "name": N}: the new key, shown this once."""
    require_admin(request, gw)
    body = await admin_body(request)
    tenant = body.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise InvalidRequest("tenant: a tenant id is required", param="tenant")
    if tenant not in gw.tenants:
        raise NotFound(f"tenant: {tenant} is not in the settings", param="tenant")
    name = body.get("name", "")
    if not isinstance(name, str):
        raise InvalidRequest("name: expected a string", param="name")
    key = gw.keys.create(tenant, name)
    return _json({"tenant": tenant, "key": key, "key_id": key.split("-")[1]}, status=201)


@endpoint("anthropic", "admin")
async def revoke_key(request: Request, gw: Gateway, request_id: str) -> Response:
    """DELETE /admin/keys/{key_id}"""
    require_admin(request, gw)
    key_id = request.path_params["key_id"]
    if not gw.keys.revoke(key_id):
        raise NotFound(f"no active key with id {key_id}")
    return _json({"key_id": key_id, "revoked": True})


@endpoint("anthropic", "admin")
async def fleet(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /admin/fleet: every backend's live state."""
    require_admin(request, gw)
    return _json(fleet_snapshot(gw.fleet, gw.now()))


ROUTES = [
    Route("/admin/keys", list_keys, methods=["GET"]),
    Route("/admin/keys", create_key, methods=["POST"]),
    Route("/admin/keys/{key_id}", revoke_key, methods=["DELETE"]),
    Route("/admin/fleet", fleet, methods=["GET"]),
]
