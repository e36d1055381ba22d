"""The walk of one generation request: admit, fail over, answer, settle.

    admit (limits, all-or-nothing) -> failover (placement + policy + retries, `failover.py`)
        -> answer (whole, or streamed) -> settle (exactly once, whatever happened)

Handlers in `fleetgate.api` parse and validate, hand a `Call` to `serve_generation` and render
the neutral `Answer` it returns. The limiter is reached from this module only (`admit`,
`_settle_limits`); the fleet state only through the `Attempt`.

Non-streaming answers are read whole (they are whole on the upstream too), translated when the
protocols differ, and settled before returning. Streams are relayed chunk by chunk: nothing is
buffered beyond one upstream read; Anthropic streams get a `ping` whenever the upstream is quiet
for the ping interval; a failure after the first byte ends the stream with an error event; the
upstream is closed and the call settled on every path, client disconnects included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import orjson

from fleetgate.errors import ApiError, UpstreamError, UpstreamTimeout
from fleetgate.gateway.answer import Answer
from fleetgate.gateway.attempt import Attempt
from fleetgate.gateway.call import Call
from fleetgate.gateway.failover import open_attempt
from fleetgate.gateway.process import Gateway
from fleetgate.limits.limiter import Admission
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.seams import Usage
from fleetgate.translate.sse import anthropic_event_bytes

log = logging.getLogger("fleetgate.gateway")

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

PING = anthropic_event_bytes({"type": "ping"})


async def serve_generation(gw: Gateway, call: Call, endpoint: str) -> Answer:
    """Serve one Messages or Chat Completions request end to end."""
    admission = await admit(gw, call, endpoint)
    try:
        attempt = await open_attempt(gw, call)
    except BaseException:
        gw.spawn(release(gw, admission))
        raise
    settle = SettleOnce(gw, call, admission, attempt)
    headers = {**call.response_headers, **attempt.decision.headers}
    if call.stream:

        def abandon() -> None:
            # the client may leave before the body starts: then `relay` never runs
            attempt.response.close()
            gw.spawn(settle(Usage(input_tokens=call.estimated_input_tokens), False))

        headers.update(SSE_HEADERS)
        stream = relay(gw, call, attempt, settle)
        return Answer(headers, "text/event-stream", stream=stream, on_exit=abandon)
    try:
        body, usage = await complete_answer(gw, call, attempt)
    except BaseException as exc:
        attempt.fail(exc)
        gw.spawn(settle(Usage(input_tokens=call.estimated_input_tokens), False))
        raise
    gw.spawn(settle(usage, True))
    return Answer(headers, "application/json", body=body)


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


class SettleOnce:
    """The settlement of a call that reached a backend, run at most once whichever path ends the
    request (success, upstream failure, client disconnect): the attempt's fleet half, the token
    metrics, then the limiter."""

    __slots__ = ("_admission", "_attempt", "_call", "_done", "_gw")

    def __init__(
        self, gw: Gateway, call: Call, admission: Admission | None, attempt: Attempt
    ) -> None:
        self._gw = gw
        self._call = call
        self._admission = admission
        self._attempt = attempt
        self._done = False

    async def __call__(self, usage: Usage, ok: bool) -> None:
        """Settle now; nothing when already settled."""
        if self._done:
            return
        self._done = True
        gw, model_id = self._gw, self._call.model.id
        self._attempt.finish(usage, ok)
        gw.metrics.labelled(gw.metrics.tokens, model_id, "input").inc(usage.total_input_tokens)
        gw.metrics.labelled(gw.metrics.tokens, model_id, "output").inc(usage.output_tokens)
        if self._admission is not None:
            await _settle_limits(gw, self._admission, usage)


async def complete_answer(gw: Gateway, call: Call, attempt: Attempt) -> tuple[bytes, Usage]:
    """The whole non-streaming answer in the front door's shape, and its usage."""
    raw = await attempt.response.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the backend sent an answer that is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamError("the backend sent an answer that is not a JSON object")
    answer, usage = attempt.translation.complete(data, call.model.id, int(gw.now()))
    return orjson.dumps(answer), usage


async def relay(
    gw: Gateway, call: Call, attempt: Attempt, settle: SettleOnce
) -> AsyncIterator[bytes]:
    """The client's stream: relayed, translated, pinged, ended properly, settled once."""
    backend = attempt.backend
    converter = attempt.translation.stream(
        call.model.id,
        backend.served_model,
        call.estimated_input_tokens,
        call.include_usage,
        int(gw.now()),
    )
    source: AsyncIterator[bytes | None] = (
        _with_pings(attempt.response.chunks(), gw.settings.server.ping_interval_s)
        if call.api == "anthropic"
        else attempt.response.chunks()
    )
    first_content = True
    ok = False
    try:
        head = converter.start()
        if head:
            yield head
        async for chunk in source:
            out = PING if chunk is None else converter.feed(chunk)
            if out:
                if first_content and chunk is not None:
                    first_content = False
                    attempt.first_token()
                    gw.metrics.labelled(gw.metrics.ttft, call.endpoint, call.model.id).observe(
                        time.monotonic() - call.started
                    )
                yield out
        if not converter.complete:
            raise UpstreamError("the backend ended the stream before it was complete")
        tail = converter.finish()
        if tail:
            yield tail
        ok = True
    except ApiError as exc:
        attempt.fail(exc)
        yield converter.error(exc)
    finally:
        attempt.response.close()
        gw.spawn(settle(converter.usage, ok))


async def _with_pings(chunks: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes | None]:
    """The upstream's chunks, with None whenever `interval` seconds pass without one."""
    iterator = chunks.__aiter__()
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield None
                continue
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise UpstreamTimeout("the backend stopped streaming") from exc
            pending = None
            yield chunk
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        closer = getattr(iterator, "aclose", None)
        if closer is not None and pending is None:
            await closer()
