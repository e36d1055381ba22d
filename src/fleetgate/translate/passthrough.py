"""Same-protocol stream converters: the upstream's events pass through, usage is read.

`AnthropicPassthrough` (Anthropic upstream, Anthropic front door) and `OpenAIPassthrough` (OpenAI
upstream, OpenAI front door). Bytes go out as they came unless the client knows the model by
another name, or (OpenAI) usage the client did not ask for must be hidden.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from fleetgate.errors import ApiError
from fleetgate.seams import Usage
from fleetgate.translate.response import usage_from_anthropic, usage_from_openai
from fleetgate.translate.sse import OPENAI_DONE, OPENAI_DONE_DATA, SSEDecoder, encode_sse
from fleetgate.translate.stream import (
    anthropic_error_event,
    load_event,
    openai_error_chunk,
    stream_error,
)

OPENAI_DONE_MARK = OPENAI_DONE_DATA.encode()


class AnthropicPassthrough:
    """Anthropic upstream to the Anthropic front door: bytes pass, usage is read.

    Until the final `message_delta` reports the output, each content delta counts as one output
    token, so a stream cut short is still charged for what was produced.
    """

    def __init__(self, client_model: str, served_model: str) -> None:
        self._decoder = SSEDecoder()
        self._rename = client_model != served_model
        self._client_model = client_model
        self._reported = Usage()
        self._final_usage = False
        self._deltas = 0
        self.complete = False

    @property
    def usage(self) -> Usage:
        if self._final_usage:
            return self._reported
        return replace(self._reported, output_tokens=self._deltas)

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: bytes) -> bytes:
        events = self._decoder.feed(chunk)
        self._deltas += sum(1 for e in events if e.event == "content_block_delta")
        if not self._rename:
            for event in events:
                self._observe(event.event, event.data, parse_only=True)
            return chunk
        return b"".join(self._observe(e.event, e.data, parse_only=False) for e in events)

    def _observe(self, name: str | None, data: str, *, parse_only: bool) -> bytes:
        if name in {"message_start", "message_delta", "message_stop"} or not parse_only:
            payload = load_event(data)
            if name == "message_start" and isinstance(payload.get("message"), dict):
                message = payload["message"]
                self._reported = usage_from_anthropic(message.get("usage") or {})
                if not parse_only:
                    message["model"] = self._client_model
            elif name == "message_delta" and isinstance(payload.get("usage"), dict):
                self._reported = _merge_anthropic(self._reported, payload["usage"])
                self._final_usage = True
            elif name == "message_stop":
                self.complete = True
            if not parse_only:
                return encode_sse(orjson.dumps(payload), event=name)
        return b""

    def finish(self) -> bytes:
        return b""

    def error(self, exc: ApiError) -> bytes:
        return anthropic_error_event(exc)


class OpenAIPassthrough:
    """OpenAI upstream to the OpenAI front door: chunks pass, usage is read (and hidden when the
    client did not ask for it; the gateway always asks upstream).

    Fast path: complete `data:` events are forwarded as the bytes that arrived; only a batch that
    carries usage, an error, or (when names differ) the model name is decoded event by event.
    Until the upstream reports usage, each event counts as one output token, so a stream cut
    short is still charged for what was produced.
    """

    def __init__(
        self, client_model: str, served_model: str, include_usage: bool, input_estimate: int
    ) -> None:
        self._buffer = bytearray()
        self._decoder: SSEDecoder | None = None
        self._reported: Usage | None = None
        self._events = 0
        self._input_estimate = input_estimate
        self._include_usage = include_usage
        self._rename = (f'"{served_model}"'.encode(), f'"{client_model}"'.encode())
        self._renaming = client_model != served_model
        self.complete = False

    @property
    def usage(self) -> Usage:
        if self._reported is not None:
            return self._reported
        return Usage(input_tokens=self._input_estimate, output_tokens=self._events)

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: bytes) -> bytes:
        if self._decoder is None and b"\r" in chunk:
            self._decoder = SSEDecoder()  # unusual line endings: decode everything properly
            self._decoder.feed(bytes(self._buffer))
            self._buffer.clear()
        if self._decoder is not None:
            return self._events_out([e.data for e in self._decoder.feed(chunk)])
        self._buffer += chunk
        end = self._buffer.rfind(b"\n\n")
        if end < 0:
            return b""
        batch = bytes(self._buffer[: end + 2])
        del self._buffer[: end + 2]
        if self._renaming or b'"usage":{' in batch or b'"usage": {' in batch or b'"error"' in batch:
            return self._events_out([e.data for e in SSEDecoder().feed(batch)])
        count = batch.count(b"\n\n")
        if OPENAI_DONE_MARK in batch:
            self.complete = True
            count -= 1
        if self._reported is None:
            self._events += count
        return batch

    def _events_out(self, events: list[str]) -> bytes:
        out: list[bytes] = []
        for data in events:
            if data.strip() == OPENAI_DONE_DATA:
                self.complete = True
                out.append(OPENAI_DONE)
                continue
            if self._reported is None:
                self._events += 1
            raw = data.encode()
            if b'"usage":{' in raw or b'"usage": {' in raw or b'"error"' in raw:
                payload = load_event(data)
                if "error" in payload and "choices" not in payload:
                    raise stream_error(payload)
                if isinstance(payload.get("usage"), dict):
                    self._reported = usage_from_openai(payload["usage"])
                    if not self._include_usage:
                        if not payload.get("choices"):
                            continue
                        payload["usage"] = None
                        raw = orjson.dumps(payload)
            if self._renaming:
                raw = raw.replace(self._rename[0], self._rename[1], 1)
            out.append(b"data: " + raw + b"\n\n")
        return b"".join(out)

    def finish(self) -> bytes:
        return b""

    def error(self, exc: ApiError) -> bytes:
        return openai_error_chunk(exc)


def _merge_anthropic(current: Usage, delta: dict[str, Any]) -> Usage:
    """message_delta usage is cumulative; fields it leaves out keep their earlier values."""
    merged = usage_from_anthropic(delta)
    return Usage(
        input_tokens=merged.input_tokens if "input_tokens" in delta else current.input_tokens,
        output_tokens=merged.output_tokens,
        cache_creation_input_tokens=merged.cache_creation_input_tokens
        if "cache_creation_input_tokens" in delta
        else current.cache_creation_input_tokens,
        cache_read_input_tokens=merged.cache_read_input_tokens
        if "cache_read_input_tokens" in delta
        else current.cache_read_input_tokens,
    )
