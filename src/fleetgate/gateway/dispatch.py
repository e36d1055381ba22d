"""Choosing a backend and opening the upstream request, with failover before the first byte.

A backend that cannot be reached, times out, or answers 5xx, 408, 429 or 529 is marked failed in
the fleet state and the request is tried on another backend (the router excludes the ones already
tried and prefers another site), within the attempt limit and the retry budget, after a jittered
backoff. An upstream 4xx that is the client's fault (bad request, too large) is the client's
answer, not a failover. When every allowed backend is saturated the request may wait in the
bounded queue (`routing.queue`); non-streaming requests may be hedged (`routing.hedging`).

Every attempt's load is released in the fleet state with the same token count it was begun with;
the attempt that served the request is finished by `finish_attempt` when the call settles.
"""

from __future__ import annotations

import asyncio
import time

from fleetgate.errors import ApiError, Overloaded, UpstreamError, spec_for
from fleetgate.gateway.access_log import AccessRecord
from fleetgate.gateway.attempt import Opened, send_attempt
from fleetgate.gateway.call import Call
from fleetgate.gateway.hedging import send_hedged
from fleetgate.gateway.state import Gateway
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import RouteDecision
from fleetgate.types import Usage

__all__ = ["Opened", "finish_attempt", "note_first_token", "open_upstream", "route_request"]


def route_request(gw: Gateway, call: Call) -> RouteRequest:
    """What the router needs to know about a call (priority from the tenant, plan or tier)."""
    return RouteRequest(
        tenant_id=call.tenant_id,
        model_id=call.model.id,
        input_tokens=call.estimated_input_tokens,
        max_output_tokens=call.max_tokens,
        affinity_key=None,
        priority=gw.router.priority_for(call.tenant),
        stream=call.stream,
    )


def access_record(call: Call, request: RouteRequest) -> AccessRecord:
    """A fresh access-log record for `call`."""
    return AccessRecord(
        request_id=call.request_id,
        tenant=call.tenant_id,
        model=call.model.id,
        endpoint=call.endpoint,
        stream=call.stream,
        priority=request.priority,
        input_tokens=call.estimated_input_tokens,
    )


async def open_upstream(gw: Gateway, call: Call) -> Opened:
    """Open the call on the best backend, failing over until one answers or none is left.

    A refusal (no allowed pool, overload, every attempt failed) is written to the access log and
    counted against end-to-end availability before it propagates.
    """
    request = route_request(gw, call)
    record = access_record(call, request)
    try:
        opened = await _attempts(gw, call, request, record)
    except ApiError as exc:
        _refused(gw, call, record, exc)
        raise
    return opened


async def _attempts(gw: Gateway, call: Call, request: RouteRequest, record: AccessRecord) -> Opened:
    tried: set[str] = set()
    last_error: UpstreamError | None = None
    max_attempts = gw.router.max_attempts
    attempt = 0
    while attempt < max_attempts:
        try:
            decision = await _decide(gw, request, call, frozenset(tried), record)
        except ApiError:
            if last_error is not None:
                raise last_error from None
            raise
        try:
            opened = await _open(gw, call, request, decision, tried, record)
        except UpstreamError as exc:
            last_error = exc
            attempt = len(tried)
            if attempt < max_attempts and gw.router.may_retry(gw.now()):
                gw.metrics.retries.inc()
                await asyncio.sleep(gw.router.retry_backoff_s(attempt, gw.rng))
                continue
            raise
        opened.attempts = len(tried)
        return opened
    assert last_error is not None
    raise last_error


async def _decide(
    gw: Gateway,
    request: RouteRequest,
    call: Call,
    tried: frozenset[str],
    record: AccessRecord,
) -> RouteDecision:
    router, tenant = gw.router, call.tenant
    try:
        return router.decide(request, tenant, gw.now(), gw.rng, exclude=tried)
    except Overloaded as refusal:
        queue = gw.fleet_runtime.queue
        if not queue.enabled:
            raise
        started = time.monotonic()
        try:
            return await queue.wait_for_room(
                request.model_id,
                request.priority,
                refusal,
                lambda: router.decide(
                    request, tenant, gw.now(), gw.rng, exclude=tried, first_attempt=False
                ),
            )
        finally:
            record.queued_s += time.monotonic() - started


async def _open(
    gw: Gateway,
    call: Call,
    request: RouteRequest,
    decision: RouteDecision,
    tried: set[str],
    record: AccessRecord,
) -> Opened:
    hedges = gw.fleet_runtime.hedges
    delay = None if call.stream else hedges.delay_s(call.model.id)
    if delay is None:
        tried.add(decision.backend.id)
        opened = await send_attempt(gw, call, decision, record)
    else:
        opened = await send_hedged(gw, call, request, decision, delay, tried, record)
    opened.record = record
    record.decision = opened.decision
    return opened


def _refused(gw: Gateway, call: Call, record: AccessRecord, exc: ApiError) -> None:
    """A request that never reached a backend (or whose every attempt failed)."""
    record.outcome = "refused" if not isinstance(exc, UpstreamError) else "failed"
    record.error = type(exc).__name__
    record.duration_s = time.monotonic() - call.started
    gw.fleet_runtime.access_log.write(record)
    if spec_for(exc).status >= 500:
        gw.fleet.health.record_request(ok=False, now=gw.now())


def note_first_token(gw: Gateway, opened: Opened) -> None:
    """The first content of a stream reached the client: time to first token, for routing."""
    if opened.first_token_at is not None:
        return
    opened.first_token_at = time.monotonic()
    ttft = opened.first_token_at - opened.sent_at
    gw.fleet.first_token(opened.backend.id, ttft, gw.now())
    if opened.record is not None:
        opened.record.ttft_s = opened.first_token_at - opened.started


def finish_attempt(gw: Gateway, call: Call, opened: Opened, usage: Usage, ok: bool) -> None:
    """Release the serving attempt's load with the tokens it began with, judge the backend
    (a client that went away judges nothing), count end-to-end availability, write the log."""
    ended = time.monotonic()
    failed = opened.failure is not None
    judged = ok or failed
    itl_s = None
    if ok and opened.first_token_at is not None and usage.output_tokens > 1:
        itl_s = (ended - opened.first_token_at) / (usage.output_tokens - 1)
    gw.fleet.finish(
        opened.backend.id,
        ok=ok,
        tokens=opened.tokens,
        now=gw.now(),
        rng=gw.rng,
        itl_s=itl_s,
        record_outcome=judged,
    )
    gw.fleet_runtime.queue.notify(call.model.id)
    if judged:
        gw.fleet.health.record_request(ok=ok, now=gw.now())
    if ok and not call.stream:
        gw.fleet_runtime.hedges.observe(call.model.id, ended - opened.sent_at)
    record = opened.record
    if record is not None:
        record.outcome = "ok" if ok else ("failed" if failed else "client_gone")
        record.error = None if opened.failure is None else type(opened.failure).__name__
        record.input_tokens = usage.total_input_tokens
        record.output_tokens = usage.output_tokens
        record.duration_s = ended - call.started
        gw.fleet_runtime.access_log.write(record)
