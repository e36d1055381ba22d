"""Tests for OpenAI chat request validation: what passes, and OpenAI's message, param and code."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from api_strategies import json_values
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetgate.api.schema_openai import validate_chat
from fleetgate.errors import InvalidRequest


def chat(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-sim", "messages": [{"role": "user", "content": "Hi"}]}
    body.update(extra)
    return body


def error_of(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        validate_chat(body)
    return caught.value


def test_agent_style_request_validates_and_keeps_unknown_fields() -> None:
    body = chat(
        messages=[
            {"role": "developer", "content": "You are a coding agent."},
            {"role": "system", "content": [{"type": "text", "text": "Be careful."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"},
                    },
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-1"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "read", "arguments": '{"p": 1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "file contents"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            {"role": "function", "name": "legacy", "content": None},
            {"role": "user", "content": "continue", "name": "alice"},
        ],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "read",
                    "description": "Read a file",
                    "parameters": {"type": "object"},
                    "strict": True,
                },
            },
            {"type": "custom", "custom": {"name": "grammar_tool"}},
        ],
        tool_choice={"type": "function", "function": {"name": "read"}},
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=4096,
        max_tokens=100,
        temperature=2,
        top_p=0.5,
        n=2,
        stop=["END", "STOP"],
        response_format={"type": "json_schema", "json_schema": {"name": "out", "schema": {}}},
        user="user-1",
        seed=7,
        logprobs=True,
        top_logprobs=5,
        parallel_tool_calls=False,
        reasoning_effort="high",
        frequency_penalty=-2,
        metadata={"k": "v"},
        brand_new_field={"kept": True},
    )
    original = copy.deepcopy(body)
    request = validate_chat(body)
    assert body == original
    assert request.body is body
    assert (request.model, request.stream, request.include_usage) == ("gpt-sim", True, True)
    assert request.max_tokens == 4096
    assert request.has_tools is True


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, (False, False, None, False)),
        ({"max_tokens": 50}, (False, False, 50, False)),
        ({"stream": True}, (True, False, None, False)),
        ({"stream": True, "stream_options": {"include_usage": False}}, (True, False, None, False)),
        ({"stream": True, "stream_options": None, "tools": []}, (True, False, None, False)),
        (
            {"stop": "END", "tool_choice": "required", "temperature": None},
            (False, False, None, False),
        ),
    ],
)
def test_request_fields(extra: dict[str, Any], expected: tuple[Any, ...]) -> None:
    request = validate_chat(chat(**extra))
    assert (request.stream, request.include_usage, request.max_tokens, request.has_tools) == (
        expected
    )


@pytest.mark.parametrize(
    ("body", "message", "param", "code"),
    [
        (
            {"messages": []},
            "Missing required parameter: 'model'.",
            "model",
            "missing_required_parameter",
        ),
        (
            {"model": "m"},
            "Missing required parameter: 'messages'.",
            "messages",
            "missing_required_parameter",
        ),
        (
            chat(messages=[]),
            "Invalid 'messages': empty array. Expected an array with minimum "
            "length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        ),
        (
            chat(model=3),
            "Invalid type for 'model': expected a string, but got an integer instead.",
            "model",
            "invalid_type",
        ),
        (
            chat(messages=[{"role": "user", "content": 5}]),
            "Invalid type for 'messages[0].content': expected one of a string or array of objects, "
            "but got an integer instead.",
            "messages[0].content",
            "invalid_type",
        ),
        (
            chat(messages=[{"role": "robot", "content": "x"}]),
            "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', "
            "'function', 'tool', and 'developer'.",
            "messages[0].role",
            "invalid_value",
        ),
        (
            chat(messages=[{"content": "x"}]),
            "Missing required parameter: 'messages[0].role'.",
            "messages[0].role",
            "missing_required_parameter",
        ),
        (
            chat(messages=[{"role": "user"}]),
            "Missing required parameter: 'messages[0].content'.",
            "messages[0].content",
            "missing_required_parameter",
        ),
        (
            chat(messages=[{"role": "assistant", "content": None}]),
            "Invalid value for 'content': expected a string, got null.",
            "messages[0].content",
            "invalid_value",
        ),
        (
            chat(messages=[{"role": "tool", "content": "x"}]),
            "Missing parameter 'tool_call_id': messages with role 'tool' must have a "
            "'tool_call_id'.",
            "messages[0].tool_call_id",
            "missing_required_parameter",
        ),
        (
            chat(messages=[{"role": "user", "content": [{"type": "video"}]}]),
            "Invalid value: 'video'. Supported values are: 'text', 'image_url', 'input_audio', "
            "and 'file'.",
            "messages[0].content[0].type",
            "invalid_value",
        ),
        (
            chat(messages=[{"role": "system", "content": [{"type": "image_url"}]}]),
            "Invalid value: 'image_url'. Supported values are: 'text'.",
            "messages[0].content[0].type",
            "invalid_value",
        ),
        (
            chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "Missing required parameter: 'messages[0].content[0].text'.",
            "messages[0].content[0].text",
            "missing_required_parameter",
        ),
        (
            chat(messages=[{"role": "user", "content": []}]),
            "Invalid 'messages[0].content': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages[0].content",
            "empty_array",
        ),
        (
            chat(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "u", "detail": "max"}}
                        ],
                    }
                ]
            ),
            "Invalid value: 'max'. Supported values are: 'auto', 'low', and 'high'.",
            "messages[0].content[0].image_url.detail",
            "invalid_value",
        ),
        (
            chat(
                messages=[
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}],
                    }
                ]
            ),
            "Missing required parameter: 'messages[0].tool_calls[0].function.arguments'.",
            "messages[0].tool_calls[0].function.arguments",
            "missing_required_parameter",
        ),
    ],
)
def test_rejects_bad_messages(body: dict[str, Any], message: str, param: str, code: str) -> None:
    error = error_of(body)
    assert (error.message, error.param, error.code) == (message, param, code)


@pytest.mark.parametrize(
    ("extra", "message", "param", "code"),
    [
        (
            {"temperature": 2.5},
            "Invalid 'temperature': decimal above maximum value. Expected a "
            "value <= 2, but got 2.5 instead.",
            "temperature",
            "decimal_above_max_value",
        ),
        (
            {"temperature": "warm"},
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
            "temperature",
            "invalid_type",
        ),
        (
            {"max_tokens": 0},
            "Invalid 'max_tokens': integer below minimum value. Expected a value "
            ">= 1, but got 0 instead.",
            "max_tokens",
            "integer_below_min_value",
        ),
        (
            {"max_completion_tokens": 1.5},
            "Invalid type for 'max_completion_tokens': expected an "
            "integer, but got a decimal instead.",
            "max_completion_tokens",
            "invalid_type",
        ),
        (
            {"n": 0},
            "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
            "n",
            "integer_below_min_value",
        ),
        (
            {"stream": "true"},
            "Invalid type for 'stream': expected a boolean, but got a string instead.",
            "stream",
            "invalid_type",
        ),
        (
            {"stream_options": {"include_usage": True}},
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            None,
        ),
        (
            {"stop": ["a", "b", "c", "d", "e"]},
            "Invalid 'stop': array too long. Expected an array "
            "with maximum length 4, but got an array with length 5 instead.",
            "stop",
            "array_above_max_length",
        ),
        (
            {"stop": 5},
            "Invalid type for 'stop': expected one of a string or array of strings, "
            "but got an integer instead.",
            "stop",
            "invalid_type",
        ),
        (
            {"tools": [{"function": {"name": "f"}}]},
            "Missing required parameter: 'tools[0].type'.",
            "tools[0].type",
            "missing_required_parameter",
        ),
        (
            {"tools": [{"type": "function"}]},
            "Missing required parameter: 'tools[0].function'.",
            "tools[0].function",
            "missing_required_parameter",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name"}}]},
            "Invalid 'tools[0].function.name': string does not match pattern. Expected a string "
            "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
            "tools[0].function.name",
            "invalid_value",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f" * 65}}]},
            "Invalid 'tools[0].function.name': string too long. Expected a string with maximum "
            "length 64, but got a string with length 65 instead.",
            "tools[0].function.name",
            "string_above_max_length",
        ),
        (
            {"tool_choice": "sometimes"},
            "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
            "tool_choice",
            "invalid_value",
        ),
        (
            {"tool_choice": {"type": "function", "function": {}}},
            "Missing required parameter: 'tool_choice.function.name'.",
            "tool_choice.function.name",
            "missing_required_parameter",
        ),
        (
            {"response_format": {"type": "yaml"}},
            "Invalid value: 'yaml'. Supported values are: "
            "'text', 'json_object', and 'json_schema'.",
            "response_format.type",
            "invalid_value",
        ),
        (
            {"response_format": {"type": "json_schema"}},
            "Missing required parameter: 'response_format.json_schema'.",
            "response_format.json_schema",
            "missing_required_parameter",
        ),
        (
            {"user": 5},
            "Invalid type for 'user': expected a string, but got an integer instead.",
            "user",
            "invalid_type",
        ),
        (
            {"logit_bias": []},
            "Invalid type for 'logit_bias': expected an object, but got an array instead.",
            "logit_bias",
            "invalid_type",
        ),
        (
            {"top_logprobs": 21},
            "Invalid 'top_logprobs': integer above maximum value. Expected a "
            "value <= 20, but got 21 instead.",
            "top_logprobs",
            "integer_above_max_value",
        ),
    ],
)
def test_rejects_bad_parameters(
    extra: dict[str, Any], message: str, param: str, code: str | None
) -> None:
    error = error_of(chat(**extra))
    assert (error.message, error.param, error.code) == (message, param, code)


FIELDS = [
    "model",
    "messages",
    "max_tokens",
    "n",
    "stream",
    "stream_options",
    "temperature",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "user",
    "seed",
    "logit_bias",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), json_values, json_values)
def test_any_json_gives_a_request_or_a_clear_error(
    field: str, value: Any, message_value: Any
) -> None:
    body = chat(**{field: value})
    if field != "messages":
        body["messages"] = [{"role": "user", "content": "x"}, message_value]
    try:
        validate_chat(body)
    except InvalidRequest as error:
        assert error.message
        assert error.param
