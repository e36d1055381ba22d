"""OpenAI Chat Completions stream -> Anthropic Messages stream, one upstream chunk at a time.

Event order produced (the documented Anthropic order): `message_start` (from `start()`, as soon as
the upstream accepted the request), then per content block `content_block_start` -> deltas ->
`content_block_stop` with one `ping` right after the first `content_block_start`, then from
`finish()` one `message_delta` (stop reason and cumulative usage) and `message_stop`.

Text deltas fill a text block; tool-call fragments become a `tool_use` block (started once the
call's name is known, earlier argument fragments replayed as one `input_json_delta`), the previous
block being closed first. Usage is taken from whichever chunk carries it (a separate
empty-choices chunk, or vLLM-style on the last content chunk); when the upstream never reports
usage, output tokens are counted with the offline tokenizer over everything the model produced and
input tokens stay at the estimate. Reasoning deltas (`reasoning_content`) are not forwarded.
Servers stream tool calls one after another; should one interleave fragments of an earlier call
after a later one started, those fragments still go out as deltas of the earlier block's index
(SDKs accumulate by index), so no argument text is lost.

A chunk carrying an `error` object (vLLM, OpenRouter and others send one mid-stream) raises
`UpstreamError`; the gateway ends the client stream with an Anthropic `error` event.

`OpenAIToAnthropic` is the stream converter of that cell: it decodes the upstream's SSE bytes,
feeds the chunks to an `OpenAIToAnthropicStream` and encodes the events it gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetgate.errors import ApiError, UpstreamError
from fleetgate.seams import Usage
from fleetgate.tokens import count_tokens
from fleetgate.translate.common import (
    JsonObject,
    anthropic_stop_reason,
    list_at,
    mapping_at,
    safe_tool_id,
)
from fleetgate.translate.response import anthropic_usage, usage_from_openai
from fleetgate.translate.sse import OPENAI_DONE_DATA, SSEDecoder, anthropic_event_bytes
from fleetgate.translate.stream import anthropic_error_event, load_event, stream_error


@dataclass(slots=True)
class _ToolCall:
    """One tool call being assembled from fragments."""

    call_id: str = ""
    name: str = ""
    pending_arguments: list[str] = field(default_factory=list)
    block_index: int | None = None


class OpenAIToAnthropicStream:
    """Feeds on OpenAI `chat.completion.chunk` objects and yields Anthropic stream events."""

    def __init__(self, model: str, message_id: str, input_tokens_estimate: int) -> None:
        self._model = model
        self._message_id = message_id
        self._input_estimate = max(int(input_tokens_estimate), 0)
        self._started = False
        self._finished = False
        self._block_count = 0
        self._open_block: int | None = None
        self._tools: dict[int, _ToolCall] = {}
        self._produced: list[str] = []
        self._finish_reason: str | None = None
        self._matched_stop: object = None
        self._upstream_usage: Usage | None = None

    @property
    def usage(self) -> Usage:
        """The usage so far: the upstream's report, else the estimate and a local count."""
        if self._upstream_usage is not None:
            return self._upstream_usage
        return Usage(
            input_tokens=self._input_estimate,
            output_tokens=count_tokens("".join(self._produced)),
        )

    @property
    def finish_reason(self) -> str | None:
        """The upstream's `finish_reason`, once a chunk carried one."""
        return self._finish_reason

    def start(self) -> list[dict[str, Any]]:
        """`[message_start]` the first time it is called, `[]` afterwards."""
        if self._started:
            return []
        self._started = True
        message: JsonObject = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self._model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self._input_estimate,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
            },
        }
        return [{"type": "message_start", "message": message}]

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Anthropic events for one OpenAI chunk (starting the message if not yet done)."""
        events = self.start()
        if self._finished:
            return events
        chunk = mapping_at(chunk, "chunk", UpstreamError)
        self._raise_on_error(chunk)
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self._upstream_usage = usage_from_openai(usage)
        choices = chunk.get("choices")
        for position, raw_choice in enumerate(
            list_at(choices or [], "chunk.choices", UpstreamError)
        ):
            choice = mapping_at(raw_choice, f"chunk.choices[{position}]", UpstreamError)
            if choice.get("index", 0) == 0:
                events.extend(self._choice(choice))
        return events

    def finish(self) -> list[dict[str, Any]]:
        """Close the open block and end the message: `message_delta` then `message_stop`."""
        events = self.start()
        if self._finished:
            return events
        self._finished = True
        for tool in self._tools.values():
            if tool.block_index is None:
                events.extend(self._start_tool(tool, self._tool_fallback_id(tool)))
        events.extend(self._close_block())
        stop_reason, stop_sequence = anthropic_stop_reason(
            self._finish_reason, matched_stop=self._matched_stop, had_tool_calls=bool(self._tools)
        )
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": anthropic_usage(self.usage),
            }
        )
        events.append({"type": "message_stop"})
        return events

    @staticmethod
    def _raise_on_error(chunk: Mapping[str, Any]) -> None:
        error = chunk.get("error")
        if error is None:
            return
        message = error.get("message") if isinstance(error, Mapping) else error
        raise UpstreamError(f"the backend failed mid-stream: {message}")

    def _choice(self, choice: Mapping[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        delta = choice.get("delta")
        if isinstance(delta, Mapping):
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.extend(self._text(content))
            fragments = delta.get("tool_calls")
            if fragments is not None:
                for position, fragment in enumerate(
                    list_at(fragments, "chunk.choices[0].delta.tool_calls", UpstreamError)
                ):
                    path = f"chunk.choices[0].delta.tool_calls[{position}]"
                    events.extend(self._tool_fragment(mapping_at(fragment, path, UpstreamError)))
        finish_reason = choice.get("finish_reason")
        if isinstance(finish_reason, str):
            self._finish_reason = finish_reason
            self._matched_stop = choice.get("stop_reason")
        return events

    def _begin_block(self, content_block: JsonObject) -> list[dict[str, Any]]:
        events = self._close_block()
        index = self._block_count
        self._block_count += 1
        self._open_block = index
        events.append(
            {"type": "content_block_start", "index": index, "content_block": content_block}
        )
        if index == 0:
            events.append({"type": "ping"})
        return events

    def _close_block(self) -> list[dict[str, Any]]:
        if self._open_block is None:
            return []
        index, self._open_block = self._open_block, None
        return [{"type": "content_block_stop", "index": index}]

    def _text(self, text: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._open_block is None or self._open_block in self._tool_blocks():
            events.extend(self._begin_block({"type": "text", "text": ""}))
        self._produced.append(text)
        events.append(
            {
                "type": "content_block_delta",
                "index": self._open_block,
                "delta": {"type": "text_delta", "text": text},
            }
        )
        return events

    def _tool_blocks(self) -> set[int]:
        return {tool.block_index for tool in self._tools.values() if tool.block_index is not None}

    def _tool_fragment(self, fragment: Mapping[str, Any]) -> list[dict[str, Any]]:
        tool = self._tools.setdefault(self._fragment_index(fragment), _ToolCall())
        call_id = fragment.get("id")
        if isinstance(call_id, str) and call_id and not tool.call_id:
            tool.call_id = call_id
        function = fragment.get("function")
        function = function if isinstance(function, Mapping) else {}
        name = function.get("name")
        if isinstance(name, str) and tool.block_index is None:
            tool.name += name
        arguments = function.get("arguments")
        events: list[dict[str, Any]] = []
        if isinstance(arguments, str) and arguments:
            self._produced.append(arguments)
            if tool.block_index is None:
                tool.pending_arguments.append(arguments)
            else:
                events.append(_json_delta(tool.block_index, arguments))
        if tool.block_index is None and tool.name:
            events.extend(self._start_tool(tool, self._tool_fallback_id(tool)))
        return events

    def _fragment_index(self, fragment: Mapping[str, Any]) -> int:
        index = fragment.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        # No index (some servers): a fragment with an id opens a new call, others continue.
        if self._tools and not fragment.get("id"):
            return max(self._tools)
        return len(self._tools)

    def _tool_fallback_id(self, tool: _ToolCall) -> str:
        position = next(key for key, value in self._tools.items() if value is tool)
        return f"toolu_{safe_tool_id(self._message_id, 'msg')}_{position}"

    def _start_tool(self, tool: _ToolCall, fallback_id: str) -> list[dict[str, Any]]:
        block = {
            "type": "tool_use",
            "id": safe_tool_id(tool.call_id, fallback_id),
            "name": tool.name,
            "input": {},
        }
        events = self._begin_block(block)
        tool.block_index = self._open_block
        if tool.pending_arguments:
            events.append(_json_delta(self._block_count - 1, "".join(tool.pending_arguments)))
            tool.pending_arguments.clear()
        return events


def _json_delta(index: int, partial_json: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial_json},
    }


class OpenAIToAnthropic:
    """OpenAI upstream to the Anthropic front door: chunks become Anthropic events."""

    def __init__(self, client_model: str, message_id: str, input_estimate: int) -> None:
        self._decoder = SSEDecoder()
        self._stream = OpenAIToAnthropicStream(client_model, message_id, input_estimate)
        self.usage = Usage()
        self.complete = False

    def start(self) -> bytes:
        return b"".join(anthropic_event_bytes(e) for e in self._stream.start())

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        for event in self._decoder.feed(chunk):
            if event.data.strip() == OPENAI_DONE_DATA:
                self.complete = True
                continue
            payload = load_event(event.data)
            if "error" in payload and "choices" not in payload:
                raise stream_error(payload)
            out.extend(anthropic_event_bytes(e) for e in self._stream.feed(payload))
        self.usage = self._stream.usage
        return b"".join(out)

    def finish(self) -> bytes:
        events = self._stream.finish()
        self.usage = self._stream.usage
        return b"".join(anthropic_event_bytes(e) for e in events)

    def error(self, exc: ApiError) -> bytes:
        return anthropic_error_event(exc)
