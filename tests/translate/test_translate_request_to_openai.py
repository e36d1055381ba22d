"""Anthropic -> OpenAI request translation: every block type, 25 tools, tool choice, sampling,
and errors that name the offending field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from fleetgate.errors import InvalidRequest
from fleetgate.translate.request_to_openai import anthropic_to_openai_request

PNG = "iVBORw0KGgo="


def many_tools(count: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"tool_{index}",
            "description": f"Does thing number {index}",
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "n": {"type": "integer"}},
                "required": ["path"],
            },
            "cache_control": {"type": "ephemeral"} if index == count - 1 else None,
        }
        for index in range(count)
    ]


def coding_agent_request() -> dict[str, Any]:
    """A Claude-Code-shaped request: cached system blocks, 25 tools, a tool round trip."""
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "You are a coding agent."},
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                    {
                        "type": "text",
                        "text": "Read main.py",
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I should read it.", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "abc"},
                    {"type": "text", "text": "Reading the file."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01",
                        "name": "tool_3",
                        "input": {"path": "main.py"},
                    },
                    {"type": "tool_use", "id": "toolu_02", "name": "tool_4", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": "print('hi')"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_02",
                        "is_error": True,
                        "content": [{"type": "text", "text": "permission denied"}],
                    },
                    {"type": "text", "text": "Now fix it."},
                ],
            },
        ],
        "tools": many_tools(25),
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "user-42"},
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "context_management": {"edits": []},
        "service_tier": "auto",
        "mcp_servers": [{"type": "url", "url": "https://x"}],
        "container": "c1",
    }


def test_coding_agent_request_to_openai() -> None:
    out = anthropic_to_openai_request(coding_agent_request(), served_model="llama-70b")
    assert out["model"] == "llama-70b"
    assert out["messages"][0] == {
        "role": "system",
        "content": "You are a coding agent.\n\nBe brief.",
    }
    assert out["messages"][1] == {
        "role": "user",
        "content": "<system-reminder>ctx</system-reminder>\nRead main.py",
    }
    assistant = out["messages"][2]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == "Reading the file."
    assert assistant["tool_calls"] == [
        {
            "id": "toolu_01",
            "type": "function",
            "function": {"name": "tool_3", "arguments": '{"path":"main.py"}'},
        },
        {"id": "toolu_02", "type": "function", "function": {"name": "tool_4", "arguments": "{}"}},
    ]
    assert out["messages"][3:] == [
        {"role": "tool", "tool_call_id": "toolu_01", "content": "print('hi')"},
        {"role": "tool", "tool_call_id": "toolu_02", "content": "Error: permission denied"},
        {"role": "user", "content": "Now fix it."},
    ]
    assert len(out["tools"]) == 25
    assert out["tools"][7] == {
        "type": "function",
        "function": {
            "name": "tool_7",
            "description": "Does thing number 7",
            "parameters": many_tools(25)[7]["input_schema"],
        },
    }
    assert out["tool_choice"] == "auto"
    assert out["parallel_tool_calls"] is False
    assert out["max_tokens"] == 32000
    assert out["stop"] == ["\n\nHuman:"]
    assert (out["temperature"], out["top_p"], out["user"]) == (0.2, 0.9, "user-42")
    assert out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}
    dropped = {"top_k", "thinking", "context_management", "service_tier", "mcp_servers"}
    assert not dropped & out.keys()
    assert "container" not in out
    assert "cache_control" not in orjson.dumps(out).decode()


def test_images_to_openai() -> None:
    body = {
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://e.x/cat.jpg"}},
                    {"type": "text", "text": "What are these?"},
                ],
            }
        ],
    }
    content = anthropic_to_openai_request(body, served_model="m")["messages"][0]["content"]
    assert content == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://e.x/cat.jpg"}},
        {"type": "text", "text": "What are these?"},
    ]


def test_tool_result_image_follows_tool_message() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": "AA"},
    }
    body = {
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "shot"}, image],
                    }
                ],
            }
        ],
    }
    messages = anthropic_to_openai_request(body, served_model="m")["messages"]
    assert messages == [
        {"role": "tool", "tool_call_id": "t1", "content": "shot"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA"}}],
        },
    ]


def test_documents_and_search_results_to_openai() -> None:
    body = {
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "title": "notes",
                        "source": {"type": "text", "media_type": "text/plain", "data": "abc"},
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": "JVBE",
                        },
                    },
                    {
                        "type": "search_result",
                        "title": "T",
                        "source": "https://s",
                        "content": [{"type": "text", "text": "found"}],
                    },
                ],
            }
        ],
    }
    content = anthropic_to_openai_request(body, served_model="m")["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "notes\n\nabc"},
        {
            "type": "file",
            "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"},
        },
        {"type": "text", "text": "T\nhttps://s\n\nfound"},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "tool_1"}, {"type": "function", "function": {"name": "tool_1"}}),
    ],
)
def test_tool_choice_to_openai(choice: dict[str, Any], expected: object) -> None:
    body = {"max_tokens": 5, "messages": [], "tools": many_tools(2), "tool_choice": choice}
    out = anthropic_to_openai_request(body, served_model="m")
    assert out["tool_choice"] == expected
    assert "parallel_tool_calls" not in out


def test_server_tools_dropped_and_no_tools_means_no_tool_choice() -> None:
    body = {
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        "tool_choice": {"type": "any"},
    }
    out = anthropic_to_openai_request(body, served_model="m")
    assert "tools" not in out
    assert "tool_choice" not in out
    assert "stream" not in out


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"messages": "nope"}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            },
            "messages[0].content[0].source.type",
        ),
        ({"messages": [], "max_tokens": "many"}, "max_tokens"),
        ({"messages": [], "temperature": "hot"}, "temperature"),
        ({"messages": [], "tools": [{"name": "x"}]}, "tools[0].input_schema"),
        (
            {"messages": [], "tools": many_tools(1), "tool_choice": {"type": "some"}},
            "tool_choice.type",
        ),
    ],
)
def test_bad_anthropic_requests_name_the_field(body: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        anthropic_to_openai_request(body, served_model="m")
    assert caught.value.param == path
    assert caught.value.message.startswith(path)
