"""Anthropic Messages stream -> OpenAI Chat Completions stream, one upstream event at a time.

Chunks produced: the first carries `delta: {"role": "assistant", "content": ""}`; text deltas
become `delta.content`; each `tool_use` block becomes one entry of `delta.tool_calls` (its own
`index`, the block's `id`, `type: "function"`, the name and empty arguments) followed by argument
fragments from `input_json_delta`; `message_delta` with a stop reason becomes the finish chunk
(`delta: {}` and the mapped `finish_reason`). Thinking, signatures, citations, `ping`,
`message_stop` and unknown events produce nothing. With `include_usage`, every chunk has
`"usage": null` and `finish()` returns the final usage chunk (`choices: []`).

An `error` event raises nothing: it returns `[]` and sets `.error` (the upstream's error object);
the gateway decides how to end the client stream.

`AnthropicToOpenAI` is the stream converter of that cell: it decodes the upstream's SSE bytes,
feeds the events to an `AnthropicToOpenAIStream` and encodes the chunks it gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fleetgate.errors import ApiError, UpstreamError
from fleetgate.seams import Usage
from fleetgate.translate.common import (
    JsonObject,
    count_at,
    input_to_arguments,
    mapping_at,
    openai_finish_reason,
)
from fleetgate.translate.response import openai_usage
from fleetgate.translate.sse import OPENAI_DONE, SSEDecoder, openai_chunk_bytes
from fleetgate.translate.stream import load_event, openai_error_chunk, stream_error

_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


class AnthropicToOpenAIStream:
    """Feeds on Anthropic stream events and yields OpenAI `chat.completion.chunk` objects."""

    def __init__(self, model: str, completion_id: str, created: int, include_usage: bool) -> None:
        self._model = model
        self._completion_id = completion_id
        self._created = created
        self._include_usage = include_usage
        self._role_sent = False
        self._finished = False
        self._tool_index_of_block: dict[int, int] = {}
        self._usage: dict[str, int] = dict.fromkeys(_USAGE_FIELDS, 0)
        self._finish_reason: str | None = None
        self.error: dict[str, Any] | None = None
        """The upstream's error object once an `error` event arrived."""
        self._handlers: Mapping[str, Callable[[Mapping[str, Any]], list[dict[str, Any]]]] = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "message_delta": self._message_delta,
            "error": self._error,
        }

    @property
    def usage(self) -> Usage:
        """Usage as last reported by the upstream (`message_delta` counts are cumulative)."""
        return Usage(**self._usage)

    @property
    def finish_reason(self) -> str | None:
        """The OpenAI finish reason, once the upstream sent its stop reason."""
        return self._finish_reason

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The OpenAI chunks for one Anthropic stream event."""
        if self._finished:
            return []
        event = mapping_at(event, "event", UpstreamError)
        handler = self._handlers.get(str(event.get("type")))
        return handler(event) if handler is not None else []

    def finish(self) -> list[dict[str, Any]]:
        """The final usage chunk when usage was asked for (once), else nothing."""
        if self._finished:
            return []
        self._finished = True
        if not self._include_usage:
            return []
        return [
            {
                "id": self._completion_id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [],
                "usage": openai_usage(self.usage),
            }
        ]

    def _chunk(self, delta: JsonObject, finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self._completion_id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _role_chunk(self) -> list[dict[str, Any]]:
        if self._role_sent:
            return []
        self._role_sent = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def _record_usage(self, usage: object) -> None:
        if not isinstance(usage, Mapping):
            return
        for key in _USAGE_FIELDS:
            if usage.get(key) is not None:
                self._usage[key] = count_at(usage.get(key))

    def _message_start(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        message = event.get("message")
        if isinstance(message, Mapping):
            self._record_usage(message.get("usage"))
        return self._role_chunk()

    def _block_start(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        chunks = self._role_chunk()
        block = mapping_at(event.get("content_block"), "event.content_block", UpstreamError)
        if block.get("type") == "text" and isinstance(block.get("text"), str) and block["text"]:
            chunks.append(self._chunk({"content": block["text"]}))
        elif block.get("type") == "tool_use":
            tool_index = len(self._tool_index_of_block)
            self._tool_index_of_block[_block_index(event)] = tool_index
            tool_input = block.get("input")
            call = {
                "index": tool_index,
                "id": block.get("id"),
                "type": "function",
                "function": {
                    "name": block.get("name"),
                    "arguments": input_to_arguments(tool_input) if tool_input else "",
                },
            }
            chunks.append(self._chunk({"tool_calls": [call]}))
        return chunks

    def _block_delta(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = mapping_at(event.get("delta"), "event.delta", UpstreamError)
        delta_type = delta.get("type")
        if delta_type == "text_delta":
            text = delta.get("text")
            if isinstance(text, str) and text:
                return [*self._role_chunk(), self._chunk({"content": text})]
        elif delta_type == "input_json_delta":
            partial = delta.get("partial_json")
            tool_index = self._tool_index_of_block.get(_block_index(event))
            if isinstance(partial, str) and partial and tool_index is not None:
                call = {"index": tool_index, "function": {"arguments": partial}}
                return [*self._role_chunk(), self._chunk({"tool_calls": [call]})]
        return []

    def _message_delta(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._record_usage(event.get("usage"))
        delta = event.get("delta")
        stop_reason = delta.get("stop_reason") if isinstance(delta, Mapping) else None
        if stop_reason is None or self._finish_reason is not None:
            return []
        self._finish_reason = openai_finish_reason(stop_reason)
        return [*self._role_chunk(), self._chunk({}, self._finish_reason)]

    def _error(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        error = event.get("error")
        self.error = dict(error) if isinstance(error, Mapping) else {"message": str(error)}
        return []


def _block_index(event: Mapping[str, Any]) -> int:
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise UpstreamError(f"event.index: expected an integer, got {index!r}", param="index")
    return index


class AnthropicToOpenAI:
    """Anthropic upstream to the OpenAI front door: events become chat completion chunks."""

    def __init__(self, client_model: str, completion_id: str, created: int, include_usage: bool):
        self._decoder = SSEDecoder()
        self._stream = AnthropicToOpenAIStream(client_model, completion_id, created, include_usage)
        self.usage = Usage()
        self.complete = False

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        for event in self._decoder.feed(chunk):
            payload = load_event(event.data)
            if payload.get("type") == "error":
                raise stream_error(payload)
            if payload.get("type") == "message_stop":
                self.complete = True
            out.extend(openai_chunk_bytes(c) for c in self._stream.feed(payload))
        self.usage = self._stream.usage
        return b"".join(out)

    def finish(self) -> bytes:
        chunks = self._stream.finish()
        self.usage = self._stream.usage
        return b"".join(openai_chunk_bytes(c) for c in chunks) + OPENAI_DONE

    def error(self, exc: ApiError) -> bytes:
        return openai_error_chunk(exc)
