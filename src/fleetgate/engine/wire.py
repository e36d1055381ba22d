"""The engine's JSON on the wire: chat completions, streaming chunks, model lists, error bodies.

Shapes follow vLLM's OpenAI-compatible server. Streaming chunks are assembled from pre-rendered
byte templates (one `orjson.dumps` per piece of text), because the `--instant` engine is used to
measure gateway overhead at thousands of requests per second.
"""

from __future__ import annotations

from typing import Any

import orjson

from fleetgate.engine.generation import OutputPlan
from fleetgate.errors import ApiError, spec_for


def error_body(error: ApiError) -> tuple[int, bytes]:
    """The OpenAI-shaped status and body of an API error."""
    spec = spec_for(error)
    body = {
        "error": {
            "message": error.message,
            "type": spec.openai_type,
            "param": error.param,
            "code": error.code,
        }
    }
    return spec.openai_status, orjson.dumps(body)


def usage_json(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The `usage` object of a completion."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def tool_call_json(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """The complete `tool_calls[0]` object of a non-streaming answer."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion_body(
    *,
    completion_id: str,
    created: int,
    model: str,
    plan: OutputPlan,
    prompt_tokens: int,
    tool_call_id: str,
) -> bytes:
    """A non-streaming `chat.completion` answer."""
    message: dict[str, Any] = {"role": "assistant", "reasoning_content": None}
    if plan.tool_call is not None:
        message["content"] = None
        call = plan.tool_call
        message["tool_calls"] = [tool_call_json(tool_call_id, call.name, call.arguments)]
    else:
        message["content"] = plan.text(plan.length)
        message["tool_calls"] = []
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": plan.finish_reason,
                "stop_reason": None,
            }
        ],
        "usage": usage_json(prompt_tokens, plan.length),
        "prompt_logprobs": None,
    }
    return orjson.dumps(body)


class ChunkWriter:
    """Renders the SSE events of one streamed answer."""

    def __init__(self, *, completion_id: str, created: int, model: str, include_usage: bool):
        head = {"id": completion_id, "object": "chat.completion.chunk", "created": created}
        self._head = orjson.dumps(head)[:-1] + b',"model":' + orjson.dumps(model)
        self._head += b',"choices":[{"index":0,"delta":'
        self._usage_tail = b',"usage":null}' if include_usage else b"}"
        self._include_usage = include_usage

    def _event(self, delta: bytes, finish_reason: str | None = None) -> bytes:
        finish = b"null" if finish_reason is None else orjson.dumps(finish_reason)
        return (
            b"data: "
            + self._head
            + delta
            + b',"logprobs":null,"finish_reason":'
            + finish
            + b"}]"
            + self._usage_tail
            + b"\n\n"
        )

    def role(self) -> bytes:
        """The first event: the assistant role with empty content."""
        return self._event(b'{"role":"assistant","content":""}')

    def content(self, piece: str) -> bytes:
        """One piece of content text."""
        return self._event(b'{"content":' + orjson.dumps(piece) + b"}")

    def tool_call_start(self, call_id: str, name: str) -> bytes:
        """The first tool-call fragment: id, type, name and empty arguments."""
        call = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        return self._event(b'{"tool_calls":' + orjson.dumps([call]) + b"}")

    def tool_arguments(self, fragment: str) -> bytes:
        """A further fragment of the tool call's arguments."""
        call = {"index": 0, "function": {"arguments": fragment}}
        return self._event(b'{"tool_calls":' + orjson.dumps([call]) + b"}")

    def finish(self, finish_reason: str) -> bytes:
        """The event with an empty delta and the finish reason."""
        return self._event(b"{}", finish_reason)

    def usage(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        """The final usage event (empty `choices`), only when the client asked for it."""
        if not self._include_usage:
            return b""
        usage = orjson.dumps(usage_json(prompt_tokens, completion_tokens))
        return (
            b"data: "
            + self._head[: self._head.index(b',"choices":')]
            + (b',"choices":[],"usage":' + usage + b"}\n\n")
        )


def models_body(models: tuple[str, ...], *, created: int, max_model_len: int) -> bytes:
    """The `GET /v1/models` answer."""
    return orjson.dumps(
        {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": created,
                    "owned_by": "fleetgate-engine",
                    "root": name,
                    "parent": None,
                    "max_model_len": max_model_len,
                }
                for name in models
            ],
        }
    )
