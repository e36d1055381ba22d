"""Non-streaming response translation between the OpenAI and Anthropic APIs, and usage reading.

- `openai_response_to_anthropic`: a `chat.completion` -> a Messages `message` (text block, then
  one `tool_use` block per tool call; finish reasons per `common`; a `refusal` answer
  becomes text with stop reason `refusal`).
- `anthropic_response_to_openai`: a Messages `message` -> a `chat.completion` (text blocks joined,
  `tool_use` -> `tool_calls`, thinking and server-tool blocks dropped).
- `usage_from_openai` / `usage_from_anthropic`: an upstream usage object -> `fleetgate.seams.Usage`
  (OpenAI's `prompt_tokens` include cached tokens; Anthropic's `input_tokens` do not).

Malformed upstream answers raise `UpstreamError` naming the offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetgate.errors import UpstreamError
from fleetgate.seams import Usage
from fleetgate.translate.common import (
    JsonObject,
    anthropic_stop_reason,
    arguments_to_input,
    count_at,
    input_to_arguments,
    list_at,
    mapping_at,
    openai_finish_reason,
    safe_tool_id,
    str_at,
)


def usage_from_openai(usage: Mapping[str, Any] | None) -> Usage:
    """`Usage` from an OpenAI usage object (cached prompt tokens become cache reads)."""
    if not isinstance(usage, Mapping):
        return Usage()
    prompt = count_at(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = count_at(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    if not cached:
        cached = count_at(usage.get("prompt_cache_hit_tokens"))  # DeepSeek's spelling
    cached = min(cached, prompt)
    return Usage(
        input_tokens=prompt - cached,
        output_tokens=count_at(usage.get("completion_tokens")),
        cache_read_input_tokens=cached,
    )


def usage_from_anthropic(usage: Mapping[str, Any] | None) -> Usage:
    """`Usage` from an Anthropic usage object."""
    if not isinstance(usage, Mapping):
        return Usage()
    return Usage(
        input_tokens=count_at(usage.get("input_tokens")),
        output_tokens=count_at(usage.get("output_tokens")),
        cache_creation_input_tokens=count_at(usage.get("cache_creation_input_tokens")),
        cache_read_input_tokens=count_at(usage.get("cache_read_input_tokens")),
    )


def anthropic_usage(usage: Usage) -> JsonObject:
    """`usage` as an Anthropic usage object."""
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
    }


def openai_usage(usage: Usage) -> JsonObject:
    """`usage` as an OpenAI usage object (prompt tokens include every cached token)."""
    prompt = usage.total_input_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
    }


def openai_response_to_anthropic(
    resp: Mapping[str, Any], *, model: str, message_id: str
) -> dict[str, Any]:
    """The Anthropic `message` equivalent to OpenAI `chat.completion` `resp`."""
    resp = mapping_at(resp, "response", UpstreamError)
    choices = list_at(resp.get("choices"), "response.choices", UpstreamError)
    if not choices:
        raise UpstreamError("response.choices: the backend returned no choice", param="choices")
    choice = mapping_at(choices[0], "response.choices[0]", UpstreamError)
    message = mapping_at(choice.get("message"), "response.choices[0].message", UpstreamError)
    content: list[JsonObject] = []
    text = _message_text(message.get("content"))
    refusal = message.get("refusal")
    if not text and isinstance(refusal, str):
        text = refusal
    if text:
        content.append({"type": "text", "text": text})
    tool_blocks = _tool_use_blocks(message, message_id)
    content.extend(tool_blocks)
    had_tool_calls = bool(tool_blocks)
    stop_reason, stop_sequence = anthropic_stop_reason(
        _optional_str(choice.get("finish_reason")),
        matched_stop=choice.get("stop_reason"),
        had_tool_calls=had_tool_calls,
    )
    if isinstance(refusal, str) and refusal and not had_tool_calls:
        stop_reason, stop_sequence = "refusal", None
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": anthropic_usage(usage_from_openai(resp.get("usage"))),
    }


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def _tool_use_blocks(message: Mapping[str, Any], message_id: str) -> list[JsonObject]:
    path = "response.choices[0].message"
    calls: list[Any] = []
    if message.get("tool_calls") is not None:
        calls = list_at(message.get("tool_calls"), f"{path}.tool_calls", UpstreamError)
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, Mapping):
        calls = [{"function": legacy}]
    blocks: list[JsonObject] = []
    for index, raw_call in enumerate(calls):
        call_path = f"{path}.tool_calls[{index}]"
        call = mapping_at(raw_call, call_path, UpstreamError)
        function = mapping_at(call.get("function"), f"{call_path}.function", UpstreamError)
        name = str_at(function.get("name"), f"{call_path}.function.name", UpstreamError)
        arguments = function.get("arguments")
        raw_id = call.get("id")
        blocks.append(
            {
                "type": "tool_use",
                "id": safe_tool_id(
                    raw_id if isinstance(raw_id, str) else "", f"toolu_{message_id}_{index}"
                ),
                "name": name,
                "input": arguments_to_input(arguments if isinstance(arguments, str) else ""),
            }
        )
    return blocks


def anthropic_response_to_openai(
    resp: Mapping[str, Any], *, model: str, completion_id: str, created: int
) -> dict[str, Any]:
    """The OpenAI `chat.completion` equivalent to Anthropic `message` `resp`."""
    resp = mapping_at(resp, "response", UpstreamError)
    texts: list[str] = []
    tool_calls: list[JsonObject] = []
    blocks = list_at(resp.get("content"), "response.content", UpstreamError)
    for index, raw_block in enumerate(blocks):
        path = f"response.content[{index}]"
        block = mapping_at(raw_block, path, UpstreamError)
        if block.get("type") == "text":
            texts.append(str_at(block.get("text"), f"{path}.text", UpstreamError))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": str_at(block.get("id"), f"{path}.id", UpstreamError),
                    "type": "function",
                    "function": {
                        "name": str_at(block.get("name"), f"{path}.name", UpstreamError),
                        "arguments": input_to_arguments(block.get("input")),
                    },
                }
            )
    text = "".join(texts)
    message: JsonObject = {
        "role": "assistant",
        "content": text if text or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    usage = usage_from_anthropic(resp.get("usage"))
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": openai_finish_reason(resp.get("stop_reason")),
            }
        ],
        "usage": openai_usage(usage),
    }
