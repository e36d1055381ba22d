"""Tests for Anthropic Messages request validation: what passes, and the path of each fault."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from api_strategies import json_values
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetgate.api.schema_anthropic import validate_messages
from fleetgate.errors import InvalidRequest

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


def minimal(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-sim",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    body.update(extra)
    return body


def claude_code_like_request() -> dict[str, Any]:
    """What Claude Code sends mid-session: big, with every newer field it uses."""
    cache = {"type": "ephemeral"}
    tools = [
        {
            "name": f"Tool_{index}",
            "description": f"Tool number {index}. " * 20,
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["path"],
                "additionalProperties": False,
                "$schema": "http://json-schema.org/draft-07/schema#",
            },
        }
        for index in range(23)
    ]
    tools.append({"type": "web_search_20250305", "name": "web_search", "max_uses": 5})
    tools.append({"name": "mcp__ide__getDiagnostics", "input_schema": {}, "cache_control": cache})
    messages: list[dict[str, Any]] = []
    chunk = "def handler(request):\n    return compute(request)  # " + "x" * 400 + "\n"
    turn = 0
    while len(orjson.dumps(messages)) < 150_000:
        tool_id = f"toolu_{turn:04d}"
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"<system-reminder>turn {turn}</system-reminder>"},
                    {"type": "text", "text": "Please read the file.", "cache_control": cache},
                ]
                if turn == 0
                else [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{turn - 1:04d}",
                        "content": [{"type": "text", "text": chunk * 3}],
                    }
                ],
            }
        )
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Let me look.", "signature": "sig=="},
                    {"type": "text", "text": "Reading it now."},
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Tool_1",
                        "input": {"path": f"/src/file_{turn}.py"},
                    },
                ],
            }
        )
        turn += 1
    messages.append(
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": f"toolu_{turn - 1:04d}",
                    "content": "ok",
                    "is_error": False,
                },
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                },
                {
                    "type": "text",
                    "text": "Now fix it.",
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                },
            ],
        }
    )
    return {
        "model": "claude-opus-4-5",
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "Instructions " * 500, "cache_control": cache},
            {"type": "text", "text": "Environment info", "cache_control": cache},
        ],
        "messages": messages,
        "tools": tools,
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "user_abc_account_123_session_456"},
        "service_tier": "auto",
        "temperature": 1,
        "mcp_servers": [{"type": "url", "url": "https://mcp.example/sse", "name": "ex"}],
        "container": "container_01",
        "betas": ["claude-code-20250219", "interleaved-thinking-2025-05-14"],
        "output_format": None,
        "some_future_field": {"nested": [1, 2, 3]},
    }


def error_of(body: dict[str, Any], **kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        validate_messages(body, **kwargs)
    return caught.value


def test_claude_code_like_request_validates_and_keeps_every_field() -> None:
    body = claude_code_like_request()
    assert len(orjson.dumps(body)) > 150_000
    assert len(body["tools"]) == 25
    original = copy.deepcopy(body)
    request = validate_messages(body)
    assert request.body is body
    assert body == original
    assert body["some_future_field"] == {"nested": [1, 2, 3]}
    assert request.model == "claude-opus-4-5"
    assert request.max_tokens == 32000
    assert request.stream is True
    assert request.has_tools is True


def test_minimal_request_defaults() -> None:
    request = validate_messages(minimal())
    assert (request.stream, request.has_tools, request.max_tokens) == (False, False, 1024)


def test_count_tokens_needs_no_max_tokens() -> None:
    body = minimal()
    del body["max_tokens"]
    assert validate_messages(body, count_tokens=True).max_tokens == 0
    assert error_of(body).message == "max_tokens: Field required"


@pytest.mark.parametrize(
    "body",
    [
        minimal(
            messages=[{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "x"}]
        ),
        minimal(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
        minimal(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]),
        minimal(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "{"}]),
        minimal(messages=[{"role": "user", "content": [{"type": "future_block", "x": 1}]}]),
        minimal(system="Be brief.", temperature=0, top_p=1, top_k=0, stop_sequences=["\n\nH:"]),
        minimal(temperature=None, system=None, tools=None, metadata={"user_id": None}),
        minimal(thinking={"type": "adaptive"}, service_tier="standard_only"),
        minimal(thinking={"type": "disabled"}, temperature=0.2),
        minimal(tool_choice={"type": "none"}, tools=[{"name": "a", "input_schema": {}}]),
        minimal(
            tool_choice={"type": "tool", "name": "a", "disable_parallel_tool_use": True},
            tools=[{"name": "a", "input_schema": {"type": "object"}}],
        ),
        minimal(
            tools=[
                {"type": "bash_20250124", "name": "bash"},
                {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                {"type": "computer_20250124", "name": "computer", "display_width_px": 1},
            ]
        ),
        minimal(max_tokens=1024.0),
        minimal(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "hi"},
                            "title": "t",
                        },
                        {"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}},
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                        {
                            "type": "search_result",
                            "source": "s",
                            "title": "t",
                            "content": [{"type": "text", "text": "r"}],
                        },
                        {"type": "container_upload", "file_id": "file_2"},
                    ],
                }
            ]
        ),
    ],
)
def test_accepts_what_the_real_api_accepts(body: dict[str, Any]) -> None:
    validate_messages(body)


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        ({"max_tokens": 1, "messages": []}, "model: Field required", "model"),
        (minimal(model=5), "model: Input should be a valid string", "model"),
        (minimal(model=""), "model: String should have at least 1 character", "model"),
        (
            minimal(max_tokens=0),
            "max_tokens: Input should be greater than or equal to 1",
            "max_tokens",
        ),
        (minimal(max_tokens="10"), "max_tokens: Input should be a valid integer", "max_tokens"),
        (minimal(max_tokens=True), "max_tokens: Input should be a valid integer", "max_tokens"),
        (minimal(messages=[]), "messages: at least one message is required", "messages"),
        (minimal(messages={}), "messages: Input should be a valid list", "messages"),
        (minimal(messages=["hi"]), "messages.0: Input should be a valid dictionary", "messages.0"),
        (
            minimal(messages=[{"content": "x"}]),
            "messages.0.role: Field required",
            "messages.0.role",
        ),
        (
            minimal(messages=[{"role": "system", "content": "x"}]),
            "messages.0.role: Input should be 'user' or 'assistant'",
            "messages.0.role",
        ),
        (
            minimal(messages=[{"role": "user"}]),
            "messages.0.content: Field required",
            "messages.0.content",
        ),
        (
            minimal(messages=[{"role": "user", "content": 3}]),
            "messages.0.content: Input should be a valid list",
            "messages.0.content",
        ),
        (
            minimal(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": [{}]}]),
            "messages.1.content.0.type: Field required",
            "messages.1.content.0.type",
        ),
        (
            minimal(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "messages.0.content.0.text: Field required",
            "messages.0.content.0.text",
        ),
        (
            minimal(temperature=1.5),
            "temperature: Input should be less than or equal to 1",
            "temperature",
        ),
        (minimal(temperature="hot"), "temperature: Input should be a valid number", "temperature"),
        (minimal(top_p=-0.1), "top_p: Input should be greater than or equal to 0", "top_p"),
        (minimal(top_k=-1), "top_k: Input should be greater than or equal to 0", "top_k"),
        (
            minimal(stop_sequences=["a", 1]),
            "stop_sequences.1: Input should be a valid string",
            "stop_sequences.1",
        ),
        (minimal(stream="yes"), "stream: Input should be a valid boolean", "stream"),
        (
            minimal(metadata={"user_id": 7}),
            "metadata.user_id: Input should be a valid string",
            "metadata.user_id",
        ),
        (
            minimal(service_tier="priority"),
            "service_tier: Input should be 'auto' or 'standard_only'",
            "service_tier",
        ),
        (
            minimal(system=[{"type": "image", "source": {"type": "url", "url": "u"}}]),
            "system.0.type: Input should be 'text'",
            "system.0.type",
        ),
        (minimal(system=5), "system: Input should be a valid list", "system"),
        (
            minimal(context_management=[]),
            "context_management: Input should be a valid dictionary",
            "context_management",
        ),
        (
            minimal(mcp_servers=["x"]),
            "mcp_servers.0: Input should be a valid dictionary",
            "mcp_servers.0",
        ),
    ],
)
def test_rejects_with_the_real_path(body: dict[str, Any], message: str, param: str) -> None:
    error = error_of(body)
    assert error.message == message
    assert error.param == param


def content(*blocks: Any) -> dict[str, Any]:
    return minimal(messages=[{"role": "user", "content": list(blocks)}])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            content({"type": "text", "text": "a", "cache_control": {"type": "persistent"}}),
            "messages.0.content.0.cache_control.type: Input should be 'ephemeral'",
        ),
        (
            content(
                {"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "2h"}}
            ),
            "messages.0.content.0.cache_control.ttl: Input should be '5m' or '1h'",
        ),
        (
            content(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/bmp", "data": "AA=="},
                }
            ),
            "messages.0.content.0.source.base64.media_type: Input should be 'image/jpeg', "
            "'image/png', 'image/gif' or 'image/webp'",
        ),
        (
            content({"type": "image", "source": {"type": "base64", "media_type": "image/png"}}),
            "messages.0.content.0.source.base64.data: Field required",
        ),
        (
            content({"type": "image", "source": {"type": "ftp"}}),
            "messages.0.content.0.source: Input tag 'ftp' found using 'type' does not match any of "
            "the expected tags: 'base64', 'url', 'file'",
        ),
        (
            content({"type": "tool_use", "id": "t", "name": "n"}),
            "messages.0.content.0.input: Field required",
        ),
        (
            content({"type": "tool_use", "id": "t", "name": "n", "input": "{}"}),
            "messages.0.content.0.input: Input should be a valid dictionary",
        ),
        (
            content({"type": "tool_result", "tool_use_id": "t", "content": [{"type": 3}]}),
            "messages.0.content.0.content.0.type: Input should be a valid string",
        ),
        (
            content({"type": "tool_result", "tool_use_id": "t", "is_error": "no"}),
            "messages.0.content.0.is_error: Input should be a valid boolean",
        ),
        (
            content({"type": "thinking", "thinking": "hm"}),
            "messages.0.content.0.signature: Field required",
        ),
        (content({"type": "redacted_thinking"}), "messages.0.content.0.data: Field required"),
        (content({"type": "text", "text": ""}), "messages: text content blocks must be non-empty"),
        (
            content({"type": "text", "text": " \n"}),
            "messages: text content blocks must contain non-whitespace text",
        ),
        (
            content(),
            "messages.0: all messages must have non-empty content except for the "
            "optional final assistant message",
        ),
        (
            minimal(
                messages=[
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "Sure, "},
                ]
            ),
            "messages: final assistant content cannot end with trailing whitespace",
        ),
    ],
)
def test_rejects_bad_blocks(body: dict[str, Any], message: str) -> None:
    assert error_of(body).message == message


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        (
            [{"name": "bad name", "input_schema": {}}],
            "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
        ),
        (
            [{"name": "x" * 129, "input_schema": {}}],
            "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
        ),
        ([{"name": "a"}], "tools.0.input_schema: Field required"),
        (
            [{"name": "a", "input_schema": {"type": "array"}}],
            "tools.0.input_schema.type: Input should be 'object'",
        ),
        (
            [{"name": "a", "input_schema": {}, "description": 5}],
            "tools.0.description: Input should be a valid string",
        ),
        ([{"type": "web_search_20250305"}], "tools.0.name: Field required"),
        (
            [{"name": "a", "input_schema": {}}, {"name": "a", "input_schema": {}}],
            "tools: Tool names must be unique.",
        ),
        ("tools", "tools: Input should be a valid list"),
    ],
)
def test_rejects_bad_tools(tools: Any, message: str) -> None:
    assert error_of(minimal(tools=tools)).message == message


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"tool_choice": {"type": "sometimes"}},
            "tool_choice: Input tag 'sometimes' found using 'type' does not match any of the "
            "expected tags: 'auto', 'any', 'tool', 'none'",
        ),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.tool.name: Field required"),
        (
            {"tool_choice": {"type": "auto", "disable_parallel_tool_use": 1}},
            "tool_choice.auto.disable_parallel_tool_use: Input should be a valid boolean",
        ),
        ({"thinking": {"type": "enabled"}}, "thinking.enabled.budget_tokens: Field required"),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 1000}},
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            {"thinking": {"type": "maybe"}},
            "thinking: Input tag 'maybe' found using 'type' does not match any of the expected "
            "tags: 'enabled', 'disabled', 'adaptive'",
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "temperature": 0.5},
            "`temperature` may only be set to 1 when thinking is enabled.",
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "top_k": 5},
            "`top_k` must be unset when thinking is enabled.",
        ),
        (
            {
                "thinking": {"type": "enabled", "budget_tokens": 2048},
                "tool_choice": {"type": "any"},
            },
            "Thinking may not be enabled when tool_choice forces tool use.",
        ),
    ],
)
def test_rejects_bad_choice_and_thinking(extra: dict[str, Any], message: str) -> None:
    assert error_of(minimal(max_tokens=4096, **extra)).message == message


def test_thinking_budget_must_stay_below_max_tokens() -> None:
    body = minimal(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 2048})
    assert error_of(body).message.startswith(
        "`max_tokens` must be greater than `thinking.budget_tokens`."
    )
    body["max_tokens"] = 2049
    validate_messages(body)
    del body["max_tokens"]
    validate_messages(body, count_tokens=True)


FIELDS = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "temperature",
    "top_k",
    "metadata",
    "stop_sequences",
    "stream",
    "service_tier",
    "container",
    "mcp_servers",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), json_values, json_values)
def test_any_json_gives_a_request_or_a_clear_error(
    field: str, value: Any, block_value: Any
) -> None:
    body = minimal(**{field: value})
    body["messages"] = (
        body["messages"]
        if field == "messages"
        else [
            {"role": "user", "content": [{"type": "text", "text": "x"}]},
            {"role": "assistant", "content": [block_value]},
        ]
    )
    try:
        validate_messages(body)
    except InvalidRequest as error:
        assert error.message
        assert (
            error.param is None
            or error.message.startswith(error.param)
            or (error.param.startswith(("messages", "tools", "system")))
        )
