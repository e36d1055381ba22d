"""Failover: choosing a backend and opening an attempt on it, trying again before the first byte.

A backend that cannot be reached, times out, or answers one of `RETRYABLE_STATUSES` is marked
failed in the fleet state and the request is tried on another backend (the router excludes the
ones already tried and prefers another site), within the attempt limit and the retry budget, after
a jittered backoff. An upstream 4xx that is the client's fault (bad request, too large) is the
client's answer, not a failover. When every allowed backend is saturated the request may wait in
the bounded queue (`routing.queue`).

Hedging (`routing.hedging`): a non-streaming request that has not been answered after the
`after_percentile` latency of its model's recent non-streaming answers gets a second attempt on
another backend (another site first); the first good answer wins and the other attempt is
cancelled, its load released without a verdict on its backend. Hedges are capped at `max_share`
of hedge-eligible requests over a rolling minute, so a slow fleet is not handed twice its load.
The client is charged once: the call has one admission and one settlement whichever attempt wins.

The attempt that answered is returned; it is finished when the call settles (`Attempt.finish`).
"""

from __future__ import annotations

import asyncio
import time

import orjson

from fleetgate.errors import (
    ApiError,
    InvalidRequest,
    Overloaded,
    RequestTooLarge,
    UpstreamError,
    UpstreamStatus,
    spec_for,
)
from fleetgate.gateway.access_log import AccessRecord
from fleetgate.gateway.attempt import Attempt
from fleetgate.gateway.call import Call
from fleetgate.gateway.process import Gateway
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import RouteDecision

RETRYABLE_STATUSES = frozenset({404, 408, 409, 429, 500, 502, 503, 504, 529})
"""Upstream statuses that say "not this backend, not now" rather than "bad request"."""


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


async def open_attempt(gw: Gateway, call: Call) -> Attempt:
    """Open the call on the best backend, failing over until one answers or none is left.

    A refusal (no allowed pool, overload, every attempt failed) is written to the access log and
    counted against end-to-end availability before it propagates.
    """
    request = route_request(gw, call)
    record = access_record(call, request)
    try:
        attempt = await _attempts(gw, call, request, record)
    except ApiError as exc:
        _refused(gw, call, record, exc)
        raise
    return attempt


async def _attempts(
    gw: Gateway, call: Call, request: RouteRequest, record: AccessRecord
) -> Attempt:
    tried: set[str] = set()
    last_error: UpstreamError | None = None
    max_attempts = gw.router.max_attempts
    made = 0
    while made < max_attempts:
        try:
            decision = await _decide(gw, request, call, frozenset(tried), record)
        except ApiError:
            if last_error is not None:
                raise last_error from None
            raise
        try:
            attempt = await _open(gw, call, request, decision, tried, record)
        except UpstreamError as exc:
            last_error = exc
            made = len(tried)
            if made < max_attempts and gw.router.may_retry(gw.now()):
                gw.metrics.retries.inc()
                await asyncio.sleep(gw.router.retry_backoff_s(made, gw.rng))
                continue
            raise
        return attempt
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
) -> Attempt:
    hedges = gw.fleet_runtime.hedges
    delay = None if call.stream else hedges.delay_s(call.model.id)
    if delay is None:
        tried.add(decision.backend.id)
        attempt = await send(gw, call, decision, record)
    else:
        attempt = await send_hedged(gw, call, request, decision, delay, tried, record)
    record.decision = attempt.decision
    return attempt


def _refused(gw: Gateway, call: Call, record: AccessRecord, exc: ApiError) -> None:
    """A request that never reached a backend (or whose every attempt failed)."""
    record.outcome = "refused" if not isinstance(exc, UpstreamError) else "failed"
    record.error = type(exc).__name__
    record.duration_s = time.monotonic() - call.started
    gw.fleet_runtime.access_log.write(record)
    if spec_for(exc).status >= 500:
        gw.fleet.health.record_request(ok=False, now=gw.now())


async def send(gw: Gateway, call: Call, decision: RouteDecision, record: AccessRecord) -> Attempt:
    """Send `call` to the decision's backend; return the attempt when its headers arrive.

    Raises the retryable `UpstreamError` of a failed backend, or the client's error for a 4xx
    that is the request's fault; the attempt is ended with the verdict either way.
    """
    attempt = Attempt(gw, call, decision, record)
    try:
        await attempt.send()
    except UpstreamStatus as exc:
        retryable = exc.status in RETRYABLE_STATUSES
        attempt.unanswered(f"status_{exc.status}", ok=not retryable)
        raise exc if retryable else _client_error(exc) from None
    except UpstreamError as exc:
        attempt.unanswered(type(exc).__name__, ok=False)
        raise
    except BaseException:  # cancelled: the client left, or a hedge lost the race
        attempt.unanswered("cancelled", ok=None)
        raise
    return attempt


async def send_hedged(
    gw: Gateway,
    call: Call,
    request: RouteRequest,
    decision: RouteDecision,
    delay_s: float,
    tried: set[str],
    record: AccessRecord,
) -> Attempt:
    """Send to `decision`'s backend; after `delay_s` without an answer, also to a second one."""
    stats = gw.fleet_runtime.hedges
    stats.count_eligible(time.monotonic())
    tried.add(decision.backend.id)
    primary = asyncio.ensure_future(send(gw, call, decision, record))
    try:
        done, _ = await asyncio.wait({primary}, timeout=delay_s)
    except BaseException:  # the client left while the first attempt was out
        await cancel_and_release({primary})
        raise
    if done:
        return primary.result()
    second = _second_choice(gw, call, request, tried)
    if second is None or not stats.try_hedge(time.monotonic()):
        return await primary
    tried.add(second.backend.id)
    record.hedged = True
    gw.metrics.retries.inc()
    secondary = asyncio.ensure_future(send(gw, call, second, record))
    return await first_good([primary, secondary])


def _second_choice(
    gw: Gateway, call: Call, request: RouteRequest, tried: set[str]
) -> RouteDecision | None:
    try:
        return gw.router.decide(
            request, call.tenant, gw.now(), gw.rng, exclude=frozenset(tried), first_attempt=False
        )
    except ApiError:
        return None


async def first_good(tasks: list[asyncio.Future[Attempt]]) -> Attempt:
    """The first attempt that answers; the others are cancelled and released. When all fail,
    the last failure is raised."""
    pending = set(tasks)
    error: BaseException | None = None
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            answered = [t.result() for t in done if t.exception() is None]
            error = next((t.exception() for t in done if t.exception() is not None), error)
            if answered:
                for extra in answered[1:]:
                    extra.release()
                return answered[0]
        assert error is not None
        raise error
    finally:
        await cancel_and_release(pending)


async def cancel_and_release(tasks: set[asyncio.Future[Attempt]]) -> None:
    """Cancel attempts still out; one that answered meanwhile is closed and released."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is None:
                task.result().release()


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
