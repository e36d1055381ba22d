"""OpenAI -> Anthropic request translation, errors naming the field, and round trips both ways."""

from __future__ import annotations

from typing import Any

import pytest
from test_translate_request_to_openai import PNG, coding_agent_request

from fleetgate.errors import InvalidRequest
from fleetgate.translate.request_to_anthropic import DEFAULT_MAX_TOKENS, openai_to_anthropic_request
from fleetgate.translate.request_to_openai import anthropic_to_openai_request


def openai_agent_request() -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "Celsius please.",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call.b2",
                        "type": "function",
                        "function": {"name": "weather", "arguments": "not json"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_a1", "content": "18C"},
            {
                "role": "tool",
                "tool_call_id": "call.b2",
                "content": [{"type": "text", "text": "21C"}],
            },
            {"role": "assistant", "content": ""},
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"},
                    },
                    {"type": "image_url", "image_url": {"url": "https://e.x/map.png"}},
                ],
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_completion_tokens": 500,
        "max_tokens": 9,
        "stop": "END",
        "temperature": 1.7,
        "top_p": 0.5,
        "user": "u-9",
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": 4,
        "logprobs": False,
        "response_format": {"type": "text"},
    }


def test_openai_agent_request_to_anthropic() -> None:
    out = openai_to_anthropic_request(openai_agent_request(), served_model="claude-sim")
    assert out["model"] == "claude-sim"
    assert out["system"] == "You are helpful.\n\nUse tools."
    assert [turn["role"] for turn in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "Weather in Paris and Rome?"},
        {"type": "text", "text": "Celsius please.", "cache_control": {"type": "ephemeral"}},
    ]
    assert out["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_a1", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_b2", "name": "weather", "input": {"_raw": "not json"}},
    ]
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_a1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "call_b2", "content": "21C"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://e.x/map.png"}},
    ]
    assert out["tools"] == [
        {
            "name": "weather",
            "description": "Current weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert out["max_tokens"] == 500
    assert out["stop_sequences"] == ["END"]
    assert out["temperature"] == 1
    assert out["top_p"] == 0.5
    assert out["metadata"] == {"user_id": "u-9"}
    assert out["stream"] is True
    assert not {"stream_options", "seed", "logprobs", "response_format", "n"} & out.keys()


def test_openai_defaults_and_stop_list() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "", "b"]}
    out = openai_to_anthropic_request(body, served_model="m")
    assert out["max_tokens"] == DEFAULT_MAX_TOKENS
    assert out["stop_sequences"] == ["a", "b"]
    assert "system" not in out
    assert "tools" not in out
    body = {
        "messages": [],
        "max_tokens": 77,
        "parallel_tool_calls": False,
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    out = openai_to_anthropic_request(body, served_model="m")
    assert out["max_tokens"] == 77
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice_to_anthropic(choice: object, expected: dict[str, Any]) -> None:
    body = {
        "messages": [],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": choice,
    }
    assert openai_to_anthropic_request(body, served_model="m")["tool_choice"] == expected


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"messages": [], "n": 2}, "n"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [], "max_tokens": 0}, "max_tokens"),
        ({"messages": [], "stop": 5}, "stop"),
        (
            {
                "messages": [],
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": "always",
            },
            "tool_choice",
        ),
        ({"messages": [], "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"messages": None}, "messages"),
    ],
)
def test_bad_openai_requests_name_the_field(body: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        openai_to_anthropic_request(body, served_model="m")
    assert caught.value.param == path


def test_anthropic_round_trip_keeps_conversation() -> None:
    original = coding_agent_request()
    there = anthropic_to_openai_request(original, served_model="backend")
    back = openai_to_anthropic_request(there, served_model="claude-sonnet-4-5")
    assert back["system"] == "You are a coding agent.\n\nBe brief."
    assert back["max_tokens"] == 32000
    assert back["stop_sequences"] == original["stop_sequences"]
    assert len(back["tools"]) == 25
    assert back["tools"][0]["input_schema"] == original["tools"][0]["input_schema"]
    assert back["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assistant = back["messages"][1]["content"]
    assert assistant == [
        {"type": "text", "text": "Reading the file."},
        {"type": "tool_use", "id": "toolu_01", "name": "tool_3", "input": {"path": "main.py"}},
        {"type": "tool_use", "id": "toolu_02", "name": "tool_4", "input": {}},
    ]
    results = back["messages"][2]["content"]
    assert results[0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_01",
        "content": "print('hi')",
    }
    assert results[1]["content"] == "Error: permission denied"
    assert results[2] == {"type": "text", "text": "Now fix it."}


def test_openai_round_trip_keeps_tool_calls() -> None:
    there = openai_to_anthropic_request(openai_agent_request(), served_model="claude")
    back = anthropic_to_openai_request(there, served_model="gpt")
    calls = back["messages"][2]["tool_calls"]
    assert [call["function"]["arguments"] for call in calls] == ['{"city":"Paris"}', "not json"]
    assert back["messages"][3] == {"role": "tool", "tool_call_id": "call_a1", "content": "18C"}
    assert back["tool_choice"] == "required"
    assert back["parallel_tool_calls"] is False
