"""Validation of one OpenAI chat message: role, content (string or parts), tool calls.

Roles: system, developer, user, assistant, tool, function. Content is a string or a non-empty
array of parts whose types depend on the role (user: text, image_url, input_audio, file;
assistant: text, refusal; the others: text). An assistant message may leave content null when it
carries tool_calls (or a legacy function_call or audio); a tool message needs a tool_call_id.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from fleetgate.api.schema_openai_fields import (
    array,
    invalid,
    invalid_value,
    missing,
    obj,
    optional,
    string,
    wrong_type,
)

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
PART_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "system": ("text",),
        "developer": ("text",),
        "user": ("text", "image_url", "input_audio", "file"),
        "assistant": ("text", "refusal"),
        "tool": ("text",),
        "function": ("text",),
    }
)
IMAGE_DETAILS = ("auto", "low", "high")


def check_message(value: Any, path: str) -> None:
    """Check the chat message at `path` (``messages[3]``)."""
    message = obj(value, path)
    if message.get("role") is None:
        missing(f"{path}.role")
    role = invalid_value(message["role"], f"{path}.role", ROLES)
    optional(message, "name", string, prefix=path)
    content_path = f"{path}.content"
    content = message.get("content")
    if content is None:
        _check_absent_content(message, role, path)
    elif not isinstance(content, str):
        parts = array(content, content_path, expected="one of a string or array of objects")
        if not parts:
            invalid(
                content_path,
                f"Invalid '{content_path}': empty array. Expected an array with minimum length "
                "1, but got an empty array instead.",
                code="empty_array",
            )
        for index, part in enumerate(parts):
            _check_part(part, f"{content_path}[{index}]", PART_TYPES[role])
    if role == "tool":
        if message.get("tool_call_id") is None:
            invalid(
                f"{path}.tool_call_id",
                "Missing parameter 'tool_call_id': messages with role 'tool' must have a "
                "'tool_call_id'.",
                code="missing_required_parameter",
            )
        string(message["tool_call_id"], f"{path}.tool_call_id")
    if role == "function" and message.get("name") is None:
        missing(f"{path}.name")
    if role == "assistant":
        _check_tool_calls(message, path)


def _check_absent_content(message: dict[str, Any], role: str, path: str) -> None:
    if role == "function":
        return
    if role != "assistant":
        missing(f"{path}.content")
    if any(message.get(key) for key in ("tool_calls", "function_call", "audio")):
        return
    invalid(
        f"{path}.content",
        "Invalid value for 'content': expected a string, got null.",
        code="invalid_value",
    )


def _check_part(value: Any, path: str, allowed: tuple[str, ...]) -> None:
    part = obj(value, path)
    if part.get("type") is None:
        missing(f"{path}.type")
    kind = invalid_value(part["type"], f"{path}.type", allowed)
    if kind in ("text", "refusal"):
        if part.get(kind) is None:
            missing(f"{path}.{kind}")
        string(part[kind], f"{path}.{kind}")
    elif kind == "image_url":
        image = obj(part.get("image_url"), f"{path}.image_url")
        if image.get("url") is None:
            missing(f"{path}.image_url.url")
        string(image["url"], f"{path}.image_url.url")
        detail = image.get("detail")
        if detail is not None:
            invalid_value(detail, f"{path}.image_url.detail", IMAGE_DETAILS)
    elif kind == "input_audio":
        audio = obj(part.get("input_audio"), f"{path}.input_audio")
        for key in ("data", "format"):
            if audio.get(key) is None:
                missing(f"{path}.input_audio.{key}")
            string(audio[key], f"{path}.input_audio.{key}")
    else:
        file = obj(part.get("file"), f"{path}.file")
        for key in ("file_data", "file_id", "filename"):
            optional(file, key, string, prefix=f"{path}.file")


def _check_tool_calls(message: dict[str, Any], path: str) -> None:
    calls = message.get("tool_calls")
    if calls is None:
        return
    for index, call_value in enumerate(array(calls, f"{path}.tool_calls")):
        call_path = f"{path}.tool_calls[{index}]"
        call = obj(call_value, call_path)
        for key in ("id", "type"):
            if call.get(key) is None:
                missing(f"{call_path}.{key}")
            string(call[key], f"{call_path}.{key}")
        if call["type"] != "function":
            continue
        function = call.get("function")
        if function is None:
            missing(f"{call_path}.function")
        if not isinstance(function, dict):
            wrong_type(f"{call_path}.function", "an object", function)
        for key in ("name", "arguments"):
            if function.get(key) is None:
                missing(f"{call_path}.function.{key}")
            string(function[key], f"{call_path}.function.{key}")
