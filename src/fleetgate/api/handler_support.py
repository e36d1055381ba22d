"""What every handler shares: the endpoint wrapper, body limits, API keys, errors in API shape.

`endpoint(api, name)` wraps a handler so that any `ApiError` becomes that API's JSON error with
the right status and headers, anything unexpected becomes a logged 500 `api_error` (never a stack
trace to the client), and every answer is counted in the metrics. The request id it hands the
handler was made by the front door, which also stamps it on the answer.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from fleetgate.api.error_bodies import anthropic_error_body, openai_error_body, status_for
from fleetgate.api.front_door import request_id_of
from fleetgate.errors import (
    ApiError,
    AuthenticationFailed,
    InternalError,
    InvalidRequest,
    PermissionDenied,
    RequestTooLarge,
)
from fleetgate.gateway.process import Gateway
from fleetgate.translate.table import FORWARDED_ANTHROPIC_HEADERS, Api

log = logging.getLogger("fleetgate.api")

Handler = Callable[[Request, Gateway, str], Awaitable[Response]]


def gateway_of(request: Request) -> Gateway:
    """The gateway the app was built with."""
    gateway: Gateway = request.app.state.gateway
    return gateway


def error_response(error: ApiError, api: Api, request_id: str) -> Response:
    """`error` as `api` renders it."""
    body = (
        anthropic_error_body(error, request_id) if api == "anthropic" else openai_error_body(error)
    )
    headers = dict(error.headers)
    if api == "openai":
        headers["x-request-id"] = request_id
    return Response(
        body, status_code=status_for(error, api), headers=headers, media_type="application/json"
    )


def endpoint(api: Api, name: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler with request ids, error rendering and request metrics."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            gw = gateway_of(request)
            request_id = request_id_of(request.scope)
            started = time.monotonic()
            gw.in_flight += 1
            gw.metrics.in_flight.inc()
            try:
                response = await handler(request, gw, request_id)
            except ApiError as exc:
                response = error_response(exc, api, request_id)
            except ClientDisconnect:
                response = Response(status_code=499)
            except Exception:
                log.exception("internal error serving %s (%s)", name, request_id)
                response = error_response(InternalError("Internal server error"), api, request_id)
            finally:
                gw.in_flight -= 1
                gw.metrics.in_flight.dec()
            model = getattr(request.state, "model_id", "-")
            gw.metrics.labelled(gw.metrics.requests, name, model, str(response.status_code)).inc()
            gw.metrics.labelled(gw.metrics.latency, name, model).observe(time.monotonic() - started)
            return response

        return run

    return wrap


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidRequest("content-length is not a number") from None
        if size > limit:
            raise RequestTooLarge(f"Request exceeds the maximum allowed size of {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise RequestTooLarge(f"Request exceeds the maximum allowed size of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def api_key_of(request: Request) -> str | None:
    """The key from `x-api-key` or `Authorization: Bearer`."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate(request: Request, gw: Gateway) -> str:
    """The tenant id behind the request's API key; AuthenticationFailed otherwise."""
    key = api_key_of(request)
    if key is None:
        raise AuthenticationFailed("x-api-key header is required", code="invalid_api_key")
    tenant = gw.tenant_for_key(key)
    if tenant is None:
        raise AuthenticationFailed("invalid x-api-key", code="invalid_api_key")
    return tenant


def require_admin(request: Request, gw: Gateway) -> None:
    """Admin endpoints take only the admin key, never a tenant key."""
    if gw.admin_key is None:
        raise PermissionDenied(
            f"the admin API is disabled: set {gw.settings.server.admin_key_env} to enable it"
        )
    key = api_key_of(request)
    if key is None:
        raise AuthenticationFailed("admin key required (x-api-key or Authorization: Bearer)")
    if not hmac.compare_digest(key.encode(), gw.admin_key.encode()):
        raise AuthenticationFailed("invalid admin key")


def client_headers(request: Request) -> dict[str, str]:
    """The client headers forwarded to Anthropic upstreams."""
    out: dict[str, Any] = {}
    for name in FORWARDED_ANTHROPIC_HEADERS:
        value = request.headers.get(name)
        if value:
            out[name] = value
    return out
