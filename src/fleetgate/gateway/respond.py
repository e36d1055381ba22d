"""Turning an opened upstream answer into the client's answer, streaming or not.

Non-streaming answers are read whole (they are whole on the upstream too), translated when the
protocols differ, and settled before returning. Streams are relayed chunk by chunk: nothing is
buffered beyond one upstream read; Anthropic streams get a `ping` whenever the upstream is quiet
for the ping interval; a failure after the first byte ends the stream with an error event; the
upstream is closed and the call settled on every path, client disconnects included.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from fleetgate.errors import ApiError, UpstreamError, UpstreamTimeout
from fleetgate.gateway.call import Call, Settlement
from fleetgate.gateway.converters import (
    AnthropicPassthrough,
    AnthropicToOpenAI,
    OpenAIPassthrough,
    OpenAIToAnthropic,
    StreamConverter,
)
from fleetgate.gateway.dispatch import Opened, note_first_token
from fleetgate.gateway.state import Gateway
from fleetgate.types import Usage
from fleetgate.upstream.sse import anthropic_event_bytes
from fleetgate.upstream.translate_response import (
    anthropic_response_to_openai,
    openai_response_to_anthropic,
    usage_from_anthropic,
    usage_from_openai,
)

PING = anthropic_event_bytes({"type": "ping"})


def message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


async def complete_answer(call: Call, opened: Opened) -> tuple[bytes, Usage]:
    """The whole non-streaming answer in the front door's shape, and its usage."""
    raw = await opened.response.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the backend sent an answer that is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamError("the backend sent an answer that is not a JSON object")
    answer, usage = _translate_complete(call, opened.backend.protocol, data)
    return orjson.dumps(answer), usage


def _translate_complete(
    call: Call, protocol: str, data: dict[str, Any]
) -> tuple[dict[str, Any], Usage]:
    model = call.model.id
    if call.api == "anthropic":
        if protocol == "anthropic":
            data["model"] = model
            return data, usage_from_anthropic(data.get("usage") or {})
        answer = openai_response_to_anthropic(data, model=model, message_id=message_id())
        return answer, usage_from_openai(data.get("usage") or {})
    if protocol == "openai":
        data["model"] = model
        return data, usage_from_openai(data.get("usage") or {})
    created = int(time.time())
    answer = anthropic_response_to_openai(
        data, model=model, completion_id=completion_id(), created=created
    )
    return answer, usage_from_anthropic(data.get("usage") or {})


def converter_for(call: Call, opened: Opened) -> StreamConverter:
    """The stream converter for this front door and backend protocol."""
    backend = opened.backend
    if call.api == "anthropic":
        if backend.protocol == "anthropic":
            return AnthropicPassthrough(call.model.id, backend.served_model)
        return OpenAIToAnthropic(call.model.id, message_id(), call.estimated_input_tokens)
    if backend.protocol == "openai":
        return OpenAIPassthrough(
            call.model.id, backend.served_model, call.include_usage, call.estimated_input_tokens
        )
    return AnthropicToOpenAI(call.model.id, completion_id(), int(time.time()), call.include_usage)


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
