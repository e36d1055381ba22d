"""OpenAI -> Anthropic streaming: exact event order for realistic vLLM and OpenAI chunk streams."""

from __future__ import annotations

from typing import Any

import pytest

from anthropic_events import json_delta, text_delta
from fleetgate.errors import UpstreamError
from fleetgate.seams import Usage
from fleetgate.tokens import count_tokens
from fleetgate.translate.stream_to_anthropic import OpenAIToAnthropicStream


def oa_chunk(
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    **choice: Any,
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-abc",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "qwen",
        "choices": []
        if delta is None
        else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason, **choice}
        ],
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def tool_fragment(
    index: int, *, call_id: str | None = None, name: str | None = None, arguments: str | None = None
) -> dict[str, Any]:
    fragment: dict[str, Any] = {"index": index, "function": {}}
    if call_id is not None:
        fragment["id"] = call_id
        fragment["type"] = "function"
    if name is not None:
        fragment["function"]["name"] = name
    if arguments is not None:
        fragment["function"]["arguments"] = arguments
    return fragment


USAGE = {
    "prompt_tokens": 300,
    "completion_tokens": 42,
    "total_tokens": 342,
    "prompt_tokens_details": {"cached_tokens": 256},
}

VLLM_TOOL_STREAM = [
    oa_chunk({"role": "assistant", "content": ""}),
    oa_chunk({"content": "I'll check"}),
    oa_chunk({"content": " both."}),
    oa_chunk({"tool_calls": [tool_fragment(0, call_id="chatcmpl-tool-1", name="get_weather")]}),
    oa_chunk({"tool_calls": [tool_fragment(0, arguments='{"city": "')]}),
    oa_chunk({"tool_calls": [tool_fragment(0, arguments='Paris"}')]}),
    oa_chunk(
        {"tool_calls": [tool_fragment(1, call_id="chatcmpl-tool-2", name="get_time", arguments="")]}
    ),
    oa_chunk({"tool_calls": [tool_fragment(1, arguments="{}")]}),
    oa_chunk({"content": ""}, "tool_calls", USAGE, stop_reason=None),
]


def run_o2a(
    chunks: list[dict[str, Any]], estimate: int = 280
) -> tuple[OpenAIToAnthropicStream, list[dict[str, Any]]]:
    stream = OpenAIToAnthropicStream("claude-sim", "msg_01", estimate)
    events = stream.start()
    for chunk in chunks:
        events.extend(stream.feed(chunk))
    events.extend(stream.finish())
    return stream, events


def test_vllm_tool_stream_with_usage_on_last_content_chunk() -> None:
    stream, events = run_o2a(VLLM_TOOL_STREAM)
    assert events[0]["type"] == "message_start"
    assert events[0]["message"]["usage"]["input_tokens"] == 280
    assert events[0]["message"]["content"] == []
    assert events[1:] == [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        text_delta(0, "I'll check"),
        text_delta(0, " both."),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "chatcmpl-tool-1",
                "name": "get_weather",
                "input": {},
            },
        },
        json_delta(1, '{"city": "'),
        json_delta(1, 'Paris"}'),
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "chatcmpl-tool-2",
                "name": "get_time",
                "input": {},
            },
        },
        json_delta(2, "{}"),
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {
                "input_tokens": 44,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 256,
                "output_tokens": 42,
            },
        },
        {"type": "message_stop"},
    ]
    assert stream.usage == Usage(input_tokens=44, output_tokens=42, cache_read_input_tokens=256)


def test_openai_style_usage_chunk_after_finish() -> None:
    chunks = [
        oa_chunk({"role": "assistant", "content": ""}, usage=None),
        oa_chunk({"content": "Hello"}),
        oa_chunk({"content": "!"}),
        oa_chunk({}, "stop"),
        oa_chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}),
    ]
    for chunk in chunks[:-1]:
        chunk["usage"] = None
    _stream, events = run_o2a(chunks)
    assert [event["type"] for event in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2]["usage"]["input_tokens"] == 9
    assert events[-2]["usage"]["output_tokens"] == 12


def test_no_usage_counts_output_locally_and_keeps_estimate() -> None:
    chunks = [
        oa_chunk({"content": "The quick brown fox"}),
        oa_chunk({"content": " jumps."}, "length"),
    ]
    stream, events = run_o2a(chunks, estimate=77)
    assert events[-2]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2]["usage"]["input_tokens"] == 77
    assert events[-2]["usage"]["output_tokens"] == count_tokens("The quick brown fox jumps.")
    assert stream.usage.output_tokens == count_tokens("The quick brown fox jumps.")


def test_vllm_matched_stop_string_is_stop_sequence() -> None:
    _, events = run_o2a([oa_chunk({"content": "a"}, "stop", stop_reason="###")])
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "###"}


def test_arguments_before_name_are_replayed_and_text_after_tool_opens_new_block() -> None:
    chunks = [
        oa_chunk({"tool_calls": [tool_fragment(0, call_id="call 1", arguments='{"q":')]}),
        oa_chunk({"tool_calls": [tool_fragment(0, name="search", arguments='"x"}')]}),
        oa_chunk({"content": "done"}, "tool_calls"),
    ]
    _, events = run_o2a(chunks)
    assert events[1:-2] == [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "call_1", "name": "search", "input": {}},
        },
        {"type": "ping"},
        json_delta(0, '{"q":"x"}'),
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        text_delta(1, "done"),
        {"type": "content_block_stop", "index": 1},
    ]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_whole_tool_call_in_one_chunk_without_index_or_id() -> None:
    call = {"type": "function", "function": {"name": "ls", "arguments": '{"dir": "/"}'}}
    _, events = run_o2a([oa_chunk({"tool_calls": [call]}, "tool_calls")])
    start = events[1]
    assert start["content_block"] == {
        "type": "tool_use",
        "id": "toolu_msg_01_0",
        "name": "ls",
        "input": {},
    }
    assert events[3]["delta"]["partial_json"] == '{"dir": "/"}'


def test_empty_stream_still_ends_properly_and_finish_is_idempotent() -> None:
    stream = OpenAIToAnthropicStream("m", "msg_2", 5)
    events = stream.feed(oa_chunk({"role": "assistant", "content": ""}))
    assert [event["type"] for event in events] == ["message_start"]
    end = stream.finish()
    assert [event["type"] for event in end] == ["message_delta", "message_stop"]
    assert end[0]["usage"]["output_tokens"] == 0
    assert stream.finish() == []
    assert stream.feed(oa_chunk({"content": "late"})) == []
    assert stream.start() == []


def test_error_chunk_raises_upstream_error() -> None:
    stream = OpenAIToAnthropicStream("m", "msg_3", 5)
    stream.feed(oa_chunk({"content": "partial"}))
    with pytest.raises(UpstreamError, match="out of KV cache"):
        stream.feed(
            {"error": {"message": "out of KV cache", "type": "InternalServerError", "code": 500}}
        )


def test_malformed_chunk_is_upstream_error() -> None:
    stream = OpenAIToAnthropicStream("m", "msg_4", 5)
    with pytest.raises(UpstreamError, match=r"chunk\.choices"):
        stream.feed({"choices": "nope"})
