"""The walk of one generation request: admit, route, relay, settle.

    admit (limits, all-or-nothing) -> open upstream (placement + policy + failover)
        -> answer (whole, or streamed) -> settle (exactly once, whatever happened)

Handlers in `fleetgate.api` parse and validate, then hand a `Call` to `serve_generation`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from fleetgate.gateway.call import Call, Settlement
from fleetgate.gateway.dispatch import Opened, finish_attempt, open_upstream
from fleetgate.gateway.respond import complete_answer, stream_answer
from fleetgate.gateway.state import Gateway
from fleetgate.limits.limiter import Admission
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.types import Usage

log = logging.getLogger("fleetgate.gateway")

HEAD_HOLD_S = 0.25
"""How long a stream's response head may wait for the first chunk to leave with it."""

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def demand_for(call: Call, endpoint: str) -> AdmissionRequest:
    """What the limiter is asked to admit for this call."""
    return AdmissionRequest(
        endpoint=endpoint,
        model_family=call.model.family,
        estimated_input_tokens=call.estimated_input_tokens,
        cache_creation_tokens=0,
        cache_read_tokens=0,
        max_output_tokens=call.max_tokens,
    )


async def admit(gw: Gateway, call: Call, endpoint: str) -> Admission | None:
    """Admit the call against its tenant's plan or tier; RateLimited propagates."""
    if call.tenant is None:
        return None
    admission = await gw.limiter.admit(call.tenant, demand_for(call, endpoint))
    call.response_headers.update(admission.headers(call.api))
    return admission


def settler(gw: Gateway, call: Call, admission: Admission | None, opened: Opened) -> Settlement:
    """The exactly-once settlement of a call that reached a backend."""

    async def settle(usage: Usage, ok: bool) -> None:
        finish_attempt(gw, call, opened, usage, ok)
        gw.metrics.labelled(gw.metrics.tokens, call.model.id, "input").inc(usage.total_input_tokens)
        gw.metrics.labelled(gw.metrics.tokens, call.model.id, "output").inc(usage.output_tokens)
        if admission is not None:
            await _settle_limits(gw, admission, usage)

    return Settlement(settle)


async def _settle_limits(gw: Gateway, admission: Admission, usage: Usage) -> None:
    try:
        await gw.limiter.settle(admission, usage)
    except Exception:  # the store may be down; the answer is already out
        gw.metrics.settle_failures.inc()
        log.exception("settling usage failed")


async def release(gw: Gateway, admission: Admission | None) -> None:
    """Give back a reservation for a call that never reached a backend."""
    if admission is not None:
        await _settle_limits(gw, admission, Usage())


async def serve_generation(gw: Gateway, call: Call, endpoint: str) -> Response:
    """Serve one Messages or Chat Completions request end to end."""
    admission = await admit(gw, call, endpoint)
    try:
        opened = await open_upstream(gw, call)
    except BaseException:
        gw.spawn(release(gw, admission))
        raise
    settlement = settler(gw, call, admission, opened)
    headers = response_headers(call, opened)
    if call.stream:

        def abandon() -> None:
            # the client may leave before the body starts: then stream_answer never runs
            opened.response.close()
            gw.spawn(settlement(Usage(input_tokens=call.estimated_input_tokens), False))

        return RelayResponse(
            stream_answer(gw, call, opened, settlement),
            on_exit=abandon,
            headers={**headers, **SSE_HEADERS},
            media_type="text/event-stream",
        )
    try:
        body, usage = await complete_answer(call, opened)
    except BaseException as exc:
        opened.fail(exc)
        gw.spawn(settlement(Usage(input_tokens=call.estimated_input_tokens), False))
        raise
    gw.spawn(settlement(usage, True))
    return Response(body, headers=headers, media_type="application/json")


class RelayResponse(StreamingResponse):
    """A streaming response whose `on_exit` runs however the response ends, even when the client
    disconnects before the body iterator was ever started (its own cleanup then never runs).
    `on_exit` must be safe to run after a complete stream too (settlement is exactly-once)."""

    def __init__(self, content: AsyncIterator[bytes], *, on_exit: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._on_exit = on_exit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream from the request's own task; a small watcher task cancels it when the client
        disconnects (no task group, no task hop before the first byte)."""
        streaming = asyncio.current_task()
        assert streaming is not None
        gone = False

        async def watch_for_disconnect() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            streaming.cancel()

        watcher = asyncio.get_running_loop().create_task(watch_for_disconnect())
        try:
            await self.stream_response(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            streaming.uncancel()  # the client left: the stream ends here, quietly
        finally:
            watcher.cancel()
            self._on_exit()

    async def stream_response(self, send: Send) -> None:
        """Like Starlette's, but the head waits (at most `HEAD_HOLD_S`) for the first chunk, so
        both leave together: the client's first byte comes one wake-up sooner."""
        loop = asyncio.get_running_loop()
        start = {"type": "http.response.start", "status": self.status_code}
        start["headers"] = self.raw_headers
        head_sent = False
        head_task: asyncio.Task[None] | None = None

        async def send_head() -> None:
            await send(start)

        def release_head() -> None:  # the upstream is slow: let the client see the head now
            nonlocal head_sent, head_task
            if not head_sent:
                head_sent = True
                head_task = loop.create_task(send_head())

        async def head_out() -> None:
            nonlocal head_sent, head_task
            if not head_sent:
                head_sent = True
                timer.cancel()
                await send(start)
            elif head_task is not None:
                await head_task
                head_task = None

        timer = loop.call_later(HEAD_HOLD_S, release_head)
        try:
            async for chunk in self.body_iterator:
                await head_out()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await head_out()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            timer.cancel()
            if head_task is not None:
                head_task.cancel()


def response_headers(call: Call, opened: Opened) -> Mapping[str, str]:
    """Headers of a successful answer: request id, limits, and where it was served."""
    return {
        **call.response_headers,
        "request-id": call.request_id,
        **opened.decision.headers,
    }
