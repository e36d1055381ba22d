"""Parsing and validation of a `POST /v1/chat/completions` body into a typed `EngineChatRequest`.

Also owns the definition of the prompt the engine counts: `prompt_text` joins every message's
text (and tool-call arguments) with the tool definitions' JSON, and `count_prompt_tokens` counts
it with fleetgate's offline tokenizer. Every problem raises `InvalidRequest` (400) naming the
field, or `NotFound` (404) for a model the engine does not serve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from fleetgate.errors import InvalidRequest, NotFound
from fleetgate.tokens import count_tokens

TOOL_CALL_MARKER = "[[call_tool]]"
"""A last user message containing this asks the engine for a tool call (when tools are given)."""

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One function tool the client offers."""

    name: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EngineChatRequest:
    """A validated chat completion request, reduced to what the engine acts on."""

    model: str
    prompt: str
    prompt_tokens: int
    max_tokens: int | None
    stream: bool
    include_usage: bool
    stop: tuple[str, ...]
    ignore_eos: bool
    tools: tuple[ToolSpec, ...]
    tool_choice: str
    """"none", "auto", "required", or "function:<name>" for a named function."""
    marker_in_last_user_message: bool


def prompt_text(messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None) -> str:
    """The prompt as the engine counts it: each message's text joined by newlines, then the
    tool definitions as compact JSON when there are any."""
    parts = [_message_text(message) for message in messages]
    if tools:
        parts.append(orjson.dumps(list(tools)).decode())
    return "\n".join(parts)


def count_prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None) -> int:
    """Prompt tokens of a chat request, exactly as the engine reports them in `usage`."""
    return count_tokens(prompt_text(messages, tools))


def parse_chat_request(body: bytes, served_models: Sequence[str]) -> EngineChatRequest:
    """Validate a raw request body; raises `InvalidRequest` or `NotFound`."""
    data = parse_json_object(body)
    model = data.get("model", served_models[0])
    if not isinstance(model, str):
        raise InvalidRequest("'model' must be a string", param="model")
    if model not in served_models:
        raise NotFound(
            f"The model `{model}` does not exist.", param="model", code="model_not_found"
        )
    messages = _messages(data.get("messages"))
    tools = _tools(data.get("tools"))
    raw_tools = data.get("tools") if tools else None
    _check_n(data.get("n"))
    stream = _optional_bool(data, "stream")
    prompt = prompt_text(messages, raw_tools)
    return EngineChatRequest(
        model=model,
        prompt=prompt,
        prompt_tokens=count_tokens(prompt),
        max_tokens=_max_tokens(data),
        stream=stream,
        include_usage=_include_usage(data.get("stream_options"), stream=stream),
        stop=_stop(data.get("stop")),
        ignore_eos=_optional_bool(data, "ignore_eos"),
        tools=tools,
        tool_choice=_tool_choice(data.get("tool_choice"), tools),
        marker_in_last_user_message=TOOL_CALL_MARKER in _last_user_text(messages),
    )


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or `InvalidRequest`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return data


def _message_text(message: Mapping[str, Any]) -> str:
    pieces: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        pieces.append(content)
    elif isinstance(content, list):
        pieces.extend(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            pieces.append(f"{function.get('name', '')}({function.get('arguments', '')})")
    return "".join(pieces)


def _messages(value: Any) -> list[dict[str, Any]]:
    if value is None:
        raise InvalidRequest("'messages' is required", param="messages")
    if not isinstance(value, list) or not value:
        raise InvalidRequest("'messages' must be a non-empty array", param="messages")
    for index, message in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"'{where}' must be an object", param=where)
        role = message.get("role")
        if role not in _ROLES:
            raise InvalidRequest(
                f"'{where}.role' must be one of {sorted(_ROLES)}, got {role!r}",
                param=f"{where}.role",
            )
        _check_content(message.get("content"), where, role)
    return value


def _check_content(content: Any, where: str, role: str) -> None:
    if content is None:
        if role in ("assistant", "function"):
            return
        raise InvalidRequest(f"'{where}.content' is required", param=f"{where}.content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise InvalidRequest(
            f"'{where}.content' must be a string or an array of content parts",
            param=f"{where}.content",
        )
    for index, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise InvalidRequest(
                f"'{where}.content[{index}]' must be an object with a 'type'",
                param=f"{where}.content[{index}]",
            )
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise InvalidRequest(
                f"'{where}.content[{index}].text' must be a string",
                param=f"{where}.content[{index}].text",
            )


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _message_text(message)
    return ""


def _max_tokens(data: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequest(f"'{key}' must be a positive integer, got {value!r}", param=key)
        return value
    return None


def _check_n(value: Any) -> None:
    if value is None or (value == 1 and not isinstance(value, bool)):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"'n' must be a positive integer, got {value!r}", param="n")
    raise InvalidRequest(f"only n=1 is supported, got n={value}", param="n")


def _optional_bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{key}' must be a boolean, got {value!r}", param=key)
    return value


def _include_usage(value: Any, *, stream: bool) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise InvalidRequest("'stream_options' must be an object", param="stream_options")
    if not stream:
        raise InvalidRequest(
            "'stream_options' can only be given when 'stream' is true", param="stream_options"
        )
    include = value.get("include_usage", False)
    if include is None:
        return False
    if not isinstance(include, bool):
        raise InvalidRequest(
            "'stream_options.include_usage' must be a boolean",
            param="stream_options.include_usage",
        )
    return include


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise InvalidRequest(
            "'stop' must be a non-empty string or an array of non-empty strings", param="stop"
        )
    return tuple(stops)


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidRequest("'tools' must be an array", param="tools")
    specs: list[ToolSpec] = []
    for index, tool in enumerate(value):
        where = f"tools[{index}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(function, dict)
        ):
            raise InvalidRequest(
                f"'{where}' must be {{'type': 'function', 'function': {{...}}}}", param=where
            )
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(
                f"'{where}.function.name' must be a non-empty string",
                param=f"{where}.function.name",
            )
        parameters = function.get("parameters", {})
        if not isinstance(parameters, dict):
            raise InvalidRequest(
                f"'{where}.function.parameters' must be a JSON schema object",
                param=f"{where}.function.parameters",
            )
        specs.append(ToolSpec(name=name, parameters=parameters))
    return tuple(specs)


def _tool_choice(value: Any, tools: Sequence[ToolSpec]) -> str:
    if value is None:
        return "auto" if tools else "none"
    if value in ("none", "auto", "required"):
        if value == "required" and not tools:
            raise InvalidRequest(
                "'tool_choice' is 'required' but no tools are given", param="tool_choice"
            )
        return str(value)
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str) or (isinstance(value, dict) and value.get("type") != "function"):
        raise InvalidRequest(
            "'tool_choice' must be 'none', 'auto', 'required' or "
            "{'type': 'function', 'function': {'name': ...}}",
            param="tool_choice",
        )
    if name not in {tool.name for tool in tools}:
        raise InvalidRequest(
            f"'tool_choice' names the function {name!r}, which is not in 'tools'",
            param="tool_choice",
        )
    return f"function:{name}"
