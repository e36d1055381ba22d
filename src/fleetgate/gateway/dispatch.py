"""Choosing a backend and opening the upstream request, with failover before the first byte.

A backend that cannot be reached, times out, or answers 5xx, 408, 429 or 529 is marked failed in
the fleet state and the request is tried on another backend (the router excludes the ones already
tried, preferring another site), within the attempt limit and the retry budget. An upstream 4xx
that is the client's fault (bad request, too large) is the client's answer, not a failover.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

from fleetgate.errors import (
    ApiError,
    InvalidRequest,
    RequestTooLarge,
    UpstreamError,
    UpstreamStatus,
)
from fleetgate.gateway.call import Call
from fleetgate.gateway.forward import build_upstream_request
from fleetgate.gateway.state import Gateway
from fleetgate.routing.fleet import Backend
from fleetgate.routing.policies import RouteRequest
from fleetgate.upstream.client import UpstreamResponse

RETRYABLE_STATUSES = frozenset({404, 408, 409, 429, 500, 502, 503, 504, 529})
"""Upstream statuses that say "not this backend, not now" rather than "bad request"."""


@dataclass(slots=True)
class Opened:
    """An upstream request whose response headers have arrived."""

    backend: Backend
    response: UpstreamResponse
    attempts: int


def route_request(call: Call) -> RouteRequest:
    """What the router needs to know about a call."""
    priority = call.tenant.priority if call.tenant and call.tenant.priority is not None else 0
    return RouteRequest(
        tenant_id=call.tenant_id,
        model_id=call.model.id,
        input_tokens=call.estimated_input_tokens,
        max_output_tokens=call.max_tokens,
        affinity_key=None,
        priority=priority,
        stream=call.stream,
    )


async def open_upstream(gw: Gateway, call: Call) -> Opened:
    """Open the call on the best backend, failing over until one answers or none is left."""
    request = route_request(call)
    tried: set[str] = set()
    last_error: ApiError | None = None
    max_attempts = gw.router.max_attempts
    for attempt in range(1, max_attempts + 1):
        try:
            backend = gw.router.choose(
                request, call.tenant, gw.now(), gw.rng, exclude=frozenset(tried)
            )
        except ApiError:
            if last_error is not None:
                raise last_error from None
            raise
        tried.add(backend.id)
        try:
            response = await _send(gw, call, backend)
        except UpstreamError as exc:
            last_error = exc
            if attempt < max_attempts and gw.router.may_retry(gw.now()):
                gw.metrics.retries.inc()
                await asyncio.sleep(gw.router.retry_backoff_s(attempt, gw.rng))
                continue
            raise
        call.site_id = backend.site_id
        call.backend_id = backend.id
        return Opened(backend, response, attempt)
    assert last_error is not None
    raise last_error


async def _send(gw: Gateway, call: Call, backend: Backend) -> UpstreamResponse:
    upstream = build_upstream_request(call, backend.protocol, backend.served_model)
    tokens = call.estimated_input_tokens + call.max_tokens
    gw.fleet.begin(backend.id, tokens, gw.now())
    labels = (backend.id, backend.site_id)
    try:
        response = await gw.client.send(backend, upstream.path, upstream.body, upstream.headers)
    except UpstreamStatus as exc:
        gw.fleet.finish(backend.id, ok=exc.status not in RETRYABLE_STATUSES, tokens=0, now=gw.now())
        gw.metrics.backend_requests.labels(*labels, f"status_{exc.status}").inc()
        raise _client_error(exc) if exc.status not in RETRYABLE_STATUSES else exc from None
    except UpstreamError as exc:
        gw.fleet.finish(backend.id, ok=False, tokens=0, now=gw.now())
        gw.metrics.backend_requests.labels(*labels, type(exc).__name__).inc()
        raise
    except BaseException:
        gw.fleet.finish(backend.id, ok=True, tokens=0, now=gw.now())
        raise
    gw.metrics.backend_requests.labels(*labels, "ok").inc()
    return response


def _client_error(exc: UpstreamStatus) -> ApiError:
    """An upstream 4xx that is the client's answer, with the upstream's own message."""
    message = _upstream_message(exc.body) or f"the backend refused the request ({exc.status})"
    if exc.status == 413:
        return RequestTooLarge(message)
    if exc.status in {400, 422}:
        return InvalidRequest(message)
    return UpstreamError(f"the backend answered {exc.status}: {message}")


def _upstream_message(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return None
