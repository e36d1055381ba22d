"""Turning an opened upstream answer into the client's answer, streaming or not.

Non-streaming answers are read whole (they are whole on the upstream too), translated when the
protocols differ, and settled before returning. Streams are relayed chunk by chunk: nothing is
buffered beyond one upstream read; Anthropic streams get a `ping` whenever the upstream is quiet
for the ping interval; a failure after the first byte ends the stream with an error event; the
upstream is closed and the call settled on every path, client disconnects included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson

from fleetgate.errors import ApiError, UpstreamError, UpstreamTimeout
from fleetgate.gateway.call import Call, Settlement
from fleetgate.gateway.dispatch import Opened, note_first_token
from fleetgate.gateway.state import Gateway
from fleetgate.translate.sse import anthropic_event_bytes
from fleetgate.translate.stream import StreamConverter
from fleetgate.translate.table import TRANSLATIONS
from fleetgate.types import Usage

PING = anthropic_event_bytes({"type": "ping"})


async def complete_answer(call: Call, opened: Opened) -> tuple[bytes, Usage]:
    """The whole non-streaming answer in the front door's shape, and its usage."""
    raw = await opened.response.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the backend sent an answer that is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamError("the backend sent an answer that is not a JSON object")
    answer, usage = TRANSLATIONS[call.api, opened.backend.protocol].complete(data, call.model.id)
    return orjson.dumps(answer), usage


def converter_for(call: Call, opened: Opened) -> StreamConverter:
    """The stream converter for this front door and backend protocol."""
    backend = opened.backend
    return TRANSLATIONS[call.api, backend.protocol].stream(
        call.model.id, backend.served_model, call.estimated_input_tokens, call.include_usage
    )


async def stream_answer(
    gw: Gateway, call: Call, opened: Opened, settlement: Settlement
) -> AsyncIterator[bytes]:
    """The client's stream: relayed, translated, pinged, ended properly, settled once."""
    converter = converter_for(call, opened)
    source: AsyncIterator[bytes | None] = (
        _with_pings(opened.response.chunks(), gw.settings.server.ping_interval_s)
        if call.api == "anthropic"
        else opened.response.chunks()
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
                    note_first_token(gw, opened)
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
        opened.fail(exc)
        yield converter.error(exc)
    finally:
        opened.response.close()
        gw.spawn(settlement(converter.usage, ok))


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
