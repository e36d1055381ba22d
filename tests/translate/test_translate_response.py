"""Non-streaming response translation and usage reading, both directions."""

from __future__ import annotations

from typing import Any

import pytest

from fleetgate.errors import UpstreamError
from fleetgate.seams import Usage
from fleetgate.translate.response import (
    anthropic_response_to_openai,
    openai_response_to_anthropic,
    usage_from_anthropic,
    usage_from_openai,
)


def openai_completion(
    message: dict[str, Any], finish_reason: str | None, **choice: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "llama",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, **choice}],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 30,
            "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }


def test_text_and_tool_calls_to_anthropic() -> None:
    message = {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "chatcmpl-tool-9f",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            },
            {"id": "call:2", "type": "function", "function": {"name": "clock", "arguments": ""}},
            {"type": "function", "function": {"name": "broken", "arguments": '{"a": '}},
        ],
    }
    out = openai_response_to_anthropic(
        openai_completion(message, "tool_calls"), model="claude-sim", message_id="msg_1"
    )
    assert out == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sim",
        "content": [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "chatcmpl-tool-9f",
                "name": "weather",
                "input": {"city": "Oslo"},
            },
            {"type": "tool_use", "id": "call_2", "name": "clock", "input": {}},
            {
                "type": "tool_use",
                "id": "toolu_msg_1_2",
                "name": "broken",
                "input": {"_raw": '{"a": '},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 100,
            "output_tokens": 30,
        },
    }


@pytest.mark.parametrize(
    ("finish_reason", "choice_extra", "expected"),
    [
        ("stop", {}, ("end_turn", None)),
        ("stop", {"stop_reason": "END"}, ("stop_sequence", "END")),
        ("stop", {"stop_reason": 128001}, ("end_turn", None)),
        ("length", {}, ("max_tokens", None)),
        ("content_filter", {}, ("refusal", None)),
        (None, {}, ("end_turn", None)),
        ("weird", {}, ("end_turn", None)),
    ],
)
def test_stop_reasons_to_anthropic(
    finish_reason: str | None, choice_extra: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    resp = openai_completion({"role": "assistant", "content": "x"}, finish_reason, **choice_extra)
    out = openai_response_to_anthropic(resp, model="m", message_id="msg")
    assert (out["stop_reason"], out["stop_sequence"]) == expected


def test_tool_calls_with_stop_finish_reason_is_tool_use() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
    }
    out = openai_response_to_anthropic(
        openai_completion(message, "stop"), model="m", message_id="msg"
    )
    assert out["stop_reason"] == "tool_use"
    assert out["content"] == [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]


def test_refusal_and_empty_answer() -> None:
    refused = openai_completion(
        {"role": "assistant", "content": None, "refusal": "I can't."}, "stop"
    )
    out = openai_response_to_anthropic(refused, model="m", message_id="msg")
    assert out["content"] == [{"type": "text", "text": "I can't."}]
    assert out["stop_reason"] == "refusal"
    empty = openai_completion({"role": "assistant", "content": ""}, "stop")
    empty.pop("usage")
    out = openai_response_to_anthropic(empty, model="m", message_id="msg")
    assert out["content"] == []
    assert out["usage"]["input_tokens"] == 0


@pytest.mark.parametrize(
    ("resp", "fragment"),
    [
        ({"choices": []}, "no choice"),
        ({"choices": "x"}, "response.choices"),
        ({"choices": [{"message": None}]}, "response.choices[0].message"),
        ({"choices": [{"message": {"tool_calls": [{"function": {"name": 5}}]}}]}, "function.name"),
        ([], "response"),
    ],
)
def test_malformed_openai_response_is_upstream_error(resp: Any, fragment: str) -> None:
    with pytest.raises(UpstreamError, match=fragment.replace("[", r"\[")):
        openai_response_to_anthropic(resp, model="m", message_id="msg")


def anthropic_message(content: list[dict[str, Any]], stop_reason: str | None) -> dict[str, Any]:
    return {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 50,
            "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 1000,
            "output_tokens": 40,
            "service_tier": "standard",
        },
    }


def test_anthropic_message_to_openai() -> None:
    content: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": "Part one, "},
        {"type": "text", "text": "part two."},
        {"type": "tool_use", "id": "toolu_1", "name": "grep", "input": {"pattern": "TODO", "n": 3}},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
    ]
    out = anthropic_response_to_openai(
        anthropic_message(content, "tool_use"),
        model="claude",
        completion_id="chatcmpl-7",
        created=99,
    )
    assert out == {
        "id": "chatcmpl-7",
        "object": "chat.completion",
        "created": 99,
        "model": "claude",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Part one, part two.",
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "grep", "arguments": '{"pattern":"TODO","n":3}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 1250,
            "completion_tokens": 40,
            "total_tokens": 1290,
            "prompt_tokens_details": {"cached_tokens": 1000},
        },
    }


def test_tool_only_answer_has_null_content() -> None:
    content = [{"type": "tool_use", "id": "t", "name": "f", "input": {"_raw": "oops"}}]
    out = anthropic_response_to_openai(
        anthropic_message(content, "tool_use"), model="m", completion_id="c", created=1
    )
    message = out["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["arguments"] == "oops"


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
        ("compaction", "stop"),
    ],
)
def test_stop_reasons_to_openai(stop_reason: str | None, finish_reason: str) -> None:
    out = anthropic_response_to_openai(
        anthropic_message([{"type": "text", "text": "x"}], stop_reason),
        model="m",
        completion_id="c",
        created=1,
    )
    assert out["choices"][0]["finish_reason"] == finish_reason


def test_malformed_anthropic_response_is_upstream_error() -> None:
    with pytest.raises(UpstreamError, match=r"response\.content\[0\]\.text"):
        anthropic_response_to_openai(
            {"content": [{"type": "text"}]}, model="m", completion_id="c", created=1
        )


def test_usage_readers() -> None:
    assert usage_from_openai(None) == Usage()
    assert usage_from_openai({"prompt_tokens": 10, "completion_tokens": 3}) == Usage(10, 3)
    assert usage_from_openai(
        {"prompt_tokens": 10, "completion_tokens": 3, "prompt_cache_hit_tokens": 4}
    ) == Usage(6, 3, 0, 4)
    assert usage_from_openai(
        {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9}}
    ) == Usage(0, 0, 0, 5)
    assert usage_from_openai({"prompt_tokens": "x", "completion_tokens": -1}) == Usage()
    assert usage_from_anthropic(
        {
            "input_tokens": 1,
            "output_tokens": 2,
            "cache_creation_input_tokens": 3,
            "cache_read_input_tokens": None,
        }
    ) == Usage(1, 2, 3, 0)
    assert usage_from_anthropic(None) == Usage()


def test_response_round_trip() -> None:
    original = anthropic_message(
        [
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
        ],
        "tool_use",
    )
    there = anthropic_response_to_openai(original, model="m", completion_id="c", created=1)
    back = openai_response_to_anthropic(there, model="claude", message_id="msg_x")
    assert back["content"] == original["content"]
    assert back["stop_reason"] == "tool_use"
    assert usage_from_anthropic(back["usage"]).total_input_tokens == 1250
    assert back["usage"]["cache_read_input_tokens"] == 1000
