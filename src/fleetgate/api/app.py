"""`create_app(settings)`: the gateway's ASGI application, built fresh for each caller.

Routes: the Anthropic and OpenAI APIs, `/health`, `/metrics`, `GET|HEAD /` (connection warm-up),
and `/admin/...`. Unknown paths and methods answer in the Anthropic error shape, never HTML. The
generation endpoints are also reachable through the `FrontDoor`'s fast lane (same handlers).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fleetgate.api import admin, admin_fleet, admin_limits
from fleetgate.api.anthropic import count_tokens, messages
from fleetgate.api.front_door import FrontDoor, request_id_of
from fleetgate.api.handler_support import error_response, gateway_of
from fleetgate.api.openai import chat_completions, list_models
from fleetgate.api.usage import usage
from fleetgate.errors import ApiError, InvalidRequest, NotFound
from fleetgate.gateway.process import Gateway
from fleetgate.settings import Settings


async def root(request: Request) -> Response:
    """GET / and HEAD /: clients warm connections up this way."""
    return Response(
        orjson.dumps({"service": "fleetgate", "status": "ok"}), media_type="application/json"
    )


async def health(request: Request) -> Response:
    gw = gateway_of(request)
    status = "draining" if gw.draining else "ok"
    return Response(
        orjson.dumps({"status": status}),
        status_code=503 if gw.draining else 200,
        media_type="application/json",
    )


async def metrics(request: Request) -> Response:
    gw = gateway_of(request)
    return Response(gw.metrics.exposition(), media_type="text/plain; version=0.0.4")


async def http_error(request: Request, exc: Exception) -> Response:
    """404/405 from routing, in the Anthropic error shape."""
    assert isinstance(exc, HTTPException)
    error: ApiError = (
        NotFound(f"Not found: {request.method} {request.url.path}")
        if exc.status_code == 404
        else InvalidRequest(f"Method {request.method} is not allowed on {request.url.path}")
    )
    response = error_response(error, "anthropic", request_id_of(request.scope))
    if exc.status_code == 405:
        response.status_code = 405
    return response


def create_app(settings: Settings, *, gateway: Gateway | None = None) -> FrontDoor:
    """The gateway app; `gateway` may be given (tests), else it is built from settings."""
    gw = gateway or Gateway.build(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gw.start()
        # what start-up built lives as long as the process: keep it out of every later
        # collection, so a full collection never scans the whole heap mid-request
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await gw.stop()

    routes = [
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/usage", usage, methods=["GET"]),
        Route("/api/oauth/usage", usage, methods=["GET"]),
        *admin.ROUTES,
        *admin_limits.ROUTES,
        *admin_fleet.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.gateway = gw
    lanes = {
        "/v1/messages": messages,
        "/v1/messages/count_tokens": count_tokens,
        "/v1/chat/completions": chat_completions,
    }
    return FrontDoor(app, lanes)
