"""OpenAI API handlers: `/v1/chat/completions` and the model list of both APIs."""

from __future__ import annotations

import time

import orjson
from starlette.requests import Request
from starlette.responses import Response

from fleetgate.api.anthropic import resolve_model
from fleetgate.api.handler_support import authenticate, endpoint, read_body
from fleetgate.api.json_body import parse_json_body
from fleetgate.api.render import response_for
from fleetgate.api.schema_openai import validate_chat
from fleetgate.api.token_estimate import estimate_openai_input_tokens
from fleetgate.gateway.call import Call
from fleetgate.gateway.process import Gateway
from fleetgate.gateway.walk import serve_generation

DEFAULT_MAX_TOKENS = 4096
"""Output reserved for a chat request that names no max_tokens (the model's answer length cap)."""

MODELS_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z: a stable creation time for listed models


@endpoint("openai", "chat_completions")
async def chat_completions(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /v1/chat/completions"""
    tenant_id = authenticate(request, gw)
    raw = await read_body(request, gw.settings.server.max_body_bytes)
    body = parse_json_body(raw, request.headers.get("content-type"))
    checked = validate_chat(body)
    model = resolve_model(gw, request, checked.model)
    call = Call(
        request_id=request_id,
        api="openai",
        endpoint="chat_completions",
        started=time.monotonic(),
        tenant_id=tenant_id,
        tenant=gw.tenants.get(tenant_id),
        model=model,
        body=body,
        stream=checked.stream,
        max_tokens=checked.max_tokens or DEFAULT_MAX_TOKENS,
        estimated_input_tokens=estimate_openai_input_tokens(body),
        include_usage=checked.include_usage,
    )
    return response_for(await serve_generation(gw, call, "chat"))


@endpoint("openai", "models")
async def list_models(request: Request, gw: Gateway, request_id: str) -> Response:
    """GET /v1/models in the caller's API shape (Anthropic when it sends anthropic-version)."""
    authenticate(request, gw)
    if request.headers.get("anthropic-version"):
        data = [
            {
                "type": "model",
                "id": model.id,
                "display_name": model.id,
                "created_at": "2025-01-01T00:00:00Z",
            }
            for model in gw.settings.models
        ]
        first = data[0]["id"] if data else None
        last = data[-1]["id"] if data else None
        payload = {"data": data, "has_more": False, "first_id": first, "last_id": last}
    else:
        payload = {
            "object": "list",
            "data": [
                {"id": m.id, "object": "model", "created": MODELS_CREATED, "owned_by": "fleetgate"}
                for m in gw.settings.models
            ],
        }
    return Response(orjson.dumps(payload), media_type="application/json")
