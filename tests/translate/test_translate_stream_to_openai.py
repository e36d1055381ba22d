"""Anthropic -> OpenAI streaming: exact chunks for a realistic Anthropic event sequence, and a
stream round trip."""

from __future__ import annotations

from typing import Any

import pytest
from test_translate_stream_to_anthropic import VLLM_TOOL_STREAM, run_o2a

from anthropic_events import json_delta, text_delta
from fleetgate.errors import UpstreamError
from fleetgate.seams import Usage
from fleetgate.translate.stream_to_openai import AnthropicToOpenAIStream

ANTHROPIC_TOOL_STREAM: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 10,
                "cache_read_input_tokens": 500,
                "output_tokens": 1,
            },
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    {"type": "ping"},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "Let me think"},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "EqQB"},
    },
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    text_delta(1, "Checking"),
    text_delta(1, " now."),
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {
            "type": "tool_use",
            "id": "toolu_01A",
            "name": "get_weather",
            "input": {},
        },
    },
    json_delta(2, ""),
    json_delta(2, '{"location": "San'),
    json_delta(2, ' Francisco"}'),
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 89},
    },
    {"type": "message_stop"},
]


def run_a2o(
    events: list[dict[str, Any]], include_usage: bool
) -> tuple[AnthropicToOpenAIStream, list[dict[str, Any]]]:
    stream = AnthropicToOpenAIStream("claude-sonnet-4-5", "chatcmpl-9", 1700000000, include_usage)
    chunks: list[dict[str, Any]] = []
    for event in events:
        chunks.extend(stream.feed(event))
    chunks.extend(stream.finish())
    return stream, chunks


def test_anthropic_tool_stream_to_openai_chunks() -> None:
    stream, chunks = run_a2o(ANTHROPIC_TOOL_STREAM, include_usage=True)
    assert all(
        chunk["id"] == "chatcmpl-9" and chunk["object"] == "chat.completion.chunk"
        for chunk in chunks
    )
    assert all(
        chunk["created"] == 1700000000 and chunk["model"] == "claude-sonnet-4-5" for chunk in chunks
    )
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    bodies = [
        (chunk["choices"][0]["delta"], chunk["choices"][0]["finish_reason"])
        for chunk in chunks[:-1]
    ]
    assert bodies == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Checking"}, None),
        ({"content": " now."}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_01A",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"location": "San'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": ' Francisco"}'}}]}, None),
        ({}, "tool_calls"),
    ]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 535,
        "completion_tokens": 89,
        "total_tokens": 624,
        "prompt_tokens_details": {"cached_tokens": 500},
    }
    assert stream.usage == Usage(25, 89, 10, 500)
    assert stream.finish_reason == "tool_calls"
    assert stream.finish() == []


def test_without_include_usage_no_usage_field_and_no_final_chunk() -> None:
    _, chunks = run_a2o(ANTHROPIC_TOOL_STREAM, include_usage=False)
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_second_tool_gets_next_index_and_error_event_sets_error() -> None:
    events: list[dict[str, Any]] = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t0", "name": "a", "input": {}},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "b", "input": {"k": 1}},
        },
        {"type": "some_future_event", "x": 1},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]
    stream = AnthropicToOpenAIStream("m", "c", 1, include_usage=False)
    chunks = [chunk for event in events for chunk in stream.feed(event)]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    calls = [chunk["choices"][0]["delta"]["tool_calls"][0] for chunk in chunks[1:]]
    assert [(call["index"], call["id"], call["function"]["arguments"]) for call in calls] == [
        (0, "t0", ""),
        (1, "t1", '{"k":1}'),
    ]
    assert stream.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert stream.finish_reason is None


def test_malformed_anthropic_event_is_upstream_error() -> None:
    stream = AnthropicToOpenAIStream("m", "c", 1, include_usage=False)
    with pytest.raises(UpstreamError, match="index"):
        stream.feed(
            {
                "type": "content_block_start",
                "content_block": {"type": "tool_use", "id": "t", "name": "n"},
            }
        )
    with pytest.raises(UpstreamError, match="event"):
        stream.feed("not an event")  # type: ignore[arg-type]


def test_stream_round_trip_openai_to_anthropic_to_openai() -> None:
    _, anthropic_events = run_o2a(VLLM_TOOL_STREAM)
    _, chunks = run_a2o(anthropic_events, include_usage=True)
    text = "".join(
        chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"]
    )
    assert text == "I'll check both."
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for call in (
            (chunk["choices"][0]["delta"].get("tool_calls") or []) if chunk["choices"] else []
        ):
            arguments[call["index"]] = (
                arguments.get(call["index"], "") + call["function"]["arguments"]
            )
    assert arguments == {0: '{"city": "Paris"}', 1: "{}"}
    assert chunks[-1]["usage"]["prompt_tokens"] == 300
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 256
