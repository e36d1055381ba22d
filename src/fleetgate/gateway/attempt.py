"""One attempt of a call on one backend: send it, book its load in the fleet state, judge it.

`send_attempt` begins the attempt in the fleet state with the call's token estimate (input plus
maximum output) and, when the backend fails before answering, finishes it at once with that same
count and the backend's verdict. An attempt that answered becomes an `Opened`, which carries the
count until the call settles (`dispatch.finish_attempt`), so outstanding tokens never drift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from fleetgate.errors import (
    ApiError,
    InvalidRequest,
    RequestTooLarge,
    UpstreamError,
    UpstreamStatus,
)
from fleetgate.gateway.access_log import AccessRecord, AttemptRecord
from fleetgate.gateway.call import Call
from fleetgate.gateway.forward import build_upstream_request
from fleetgate.gateway.state import Gateway
from fleetgate.routing.index import Backend
from fleetgate.routing.router import RouteDecision
from fleetgate.upstream.client import UpstreamResponse

RETRYABLE_STATUSES = frozenset({404, 408, 409, 429, 500, 502, 503, 504, 529})
"""Upstream statuses that say "not this backend, not now" rather than "bad request"."""


@dataclass(slots=True)
class Opened:
    """An upstream request whose response headers have arrived."""

    backend: Backend
    response: UpstreamResponse
    decision: RouteDecision
    tokens: int
    """The token count the fleet state was given at `begin`; `finish` gets the same."""
    sent_at: float
    """`time.monotonic()` when the request was sent to the backend."""
    started: float
    """`time.monotonic()` when the client request arrived."""
    attempts: int = 1
    first_token_at: float | None = None
    failure: ApiError | None = None
    """Set when the backend failed after answering (a broken stream): the backend's fault."""
    record: AccessRecord | None = None

    def fail(self, exc: BaseException) -> None:
        """Note that the backend failed after its headers (a client leaving is not a failure)."""
        if isinstance(exc, ApiError) and self.failure is None:
            self.failure = exc


def attempt_tokens(call: Call) -> int:
    """The tokens an attempt books in the fleet state: input plus the most output it may make."""
    return max(call.estimated_input_tokens, 0) + max(call.max_tokens, 0)


async def send_attempt(
    gw: Gateway, call: Call, decision: RouteDecision, record: AccessRecord
) -> Opened:
    """Send `call` to the decision's backend; return when its headers arrive.

    Raises the retryable `UpstreamError` of a failed backend, or the client's error for a 4xx
    that is the request's fault.
    """
    backend = decision.backend
    upstream = build_upstream_request(call, backend.protocol, backend.served_model)
    tokens = attempt_tokens(call)
    gw.fleet.begin(backend.id, tokens, gw.now())
    sent_at = time.monotonic()
    try:
        response = await gw.client.send(backend, upstream.path, upstream.body, upstream.headers)
    except UpstreamStatus as exc:
        retryable = exc.status in RETRYABLE_STATUSES
        _ended(gw, call, backend, tokens, f"status_{exc.status}", record, ok=not retryable)
        raise exc if retryable else _client_error(exc) from None
    except UpstreamError as exc:
        _ended(gw, call, backend, tokens, type(exc).__name__, record, ok=False)
        raise
    except BaseException:  # cancelled: the client left, or a hedge lost the race
        _ended(gw, call, backend, tokens, "cancelled", record, ok=None)
        raise
    gw.metrics.labelled(gw.metrics.backend_requests, backend.id, backend.site_id, "ok").inc()
    record.attempts.append(AttemptRecord(backend.id, backend.site_id, "ok"))
    return Opened(backend, response, decision, tokens, sent_at, call.started)


def _ended(
    gw: Gateway,
    call: Call,
    backend: Backend,
    tokens: int,
    outcome: str,
    record: AccessRecord,
    *,
    ok: bool | None,
) -> None:
    """An attempt that ended before answering; `ok=None` releases it without a verdict."""
    gw.fleet.finish(
        backend.id,
        ok=bool(ok),
        tokens=tokens,
        now=gw.now(),
        rng=gw.rng,
        record_outcome=ok is not None,
    )
    gw.fleet_runtime.queue.notify(call.model.id)
    gw.metrics.labelled(gw.metrics.backend_requests, backend.id, backend.site_id, outcome).inc()
    record.attempts.append(AttemptRecord(backend.id, backend.site_id, outcome))


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
