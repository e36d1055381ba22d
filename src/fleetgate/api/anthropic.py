"""Anthropic Messages API handlers: `/v1/messages` and `/v1/messages/count_tokens`.

Thin: read and check the body, authenticate, resolve the model, estimate input tokens, then hand a
`Call` to the gateway's walk and render its answer. Query strings such as `?beta=true` are
accepted and ignored.
"""

from __future__ import annotations

import time

import orjson
from starlette.requests import Request
from starlette.responses import Response

from fleetgate.api.handler_support import authenticate, client_headers, endpoint, read_body
from fleetgate.api.json_body import parse_json_body
from fleetgate.api.render import response_for
from fleetgate.api.schema_anthropic import MessagesRequest, validate_messages
from fleetgate.api.token_estimate import estimate_anthropic_input_tokens
from fleetgate.errors import NotFound
from fleetgate.gateway.call import Call
from fleetgate.gateway.process import Gateway
from fleetgate.gateway.walk import admit, serve_generation
from fleetgate.settings import ModelSettings


def resolve_model(gw: Gateway, request: Request, model_id: str) -> ModelSettings:
    """The configured model clients call `model_id`; not_found_error otherwise."""
    model = gw.models.get(model_id)
    if model is None:
        raise NotFound(f"model: {model_id}", param="model", code="model_not_found")
    request.state.model_id = model.id
    return model


async def _call(
    request: Request, gw: Gateway, request_id: str, *, count_tokens: bool
) -> tuple[Call, MessagesRequest]:
    limit = gw.settings.server.max_body_bytes
    tenant_id = authenticate(request, gw)
    raw = await read_body(request, limit)
    body = parse_json_body(raw, request.headers.get("content-type"))
    checked = validate_messages(body, count_tokens=count_tokens)
    model = resolve_model(gw, request, checked.model)
    call = Call(
        request_id=request_id,
        api="anthropic",
        endpoint="count_tokens" if count_tokens else "messages",
        started=time.monotonic(),
        tenant_id=tenant_id,
        tenant=gw.tenants.get(tenant_id),
        model=model,
        body=body,
        stream=checked.stream and not count_tokens,
        max_tokens=0 if count_tokens else checked.max_tokens,
        estimated_input_tokens=estimate_anthropic_input_tokens(body),
        client_headers=client_headers(request),
    )
    return call, checked


@endpoint("anthropic", "messages")
async def messages(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /v1/messages"""
    call, _ = await _call(request, gw, request_id, count_tokens=False)
    return response_for(await serve_generation(gw, call, "messages"))


@endpoint("anthropic", "count_tokens")
async def count_tokens(request: Request, gw: Gateway, request_id: str) -> Response:
    """POST /v1/messages/count_tokens: the offline token count, with its own request limit."""
    call, _ = await _call(request, gw, request_id, count_tokens=True)
    await admit(gw, call, "count_tokens")
    body = orjson.dumps({"input_tokens": call.estimated_input_tokens})
    return Response(body, headers=call.response_headers, media_type="application/json")
