"""Validation of OpenAI Chat Completions request bodies (`/v1/chat/completions`).

Checks what the real API checks, with its wording ("Missing required parameter: 'model'.",
"Invalid type for 'messages[0].content': expected ...") and `param`/`code` set the way OpenAI sets
them. Unknown fields are kept, ``null`` counts as absent for optional fields, and newer object
shapes with a string ``type`` (tools, tool_choice) pass. Messages are checked in
`fleetgate.api.schema_openai_messages`; the body is never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fleetgate.api.schema_openai_fields import (
    array,
    boolean,
    integer,
    invalid,
    invalid_value,
    missing,
    number,
    obj,
    optional,
    string,
)
from fleetgate.api.schema_openai_messages import check_message

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_FUNCTION_NAME = 64
MAX_STOP_SEQUENCES = 4


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A validated chat request: the untouched body plus the fields the gateway acts on."""

    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool
    max_tokens: int | None
    """`max_completion_tokens` when given, else `max_tokens`, else None."""
    has_tools: bool


def validate_chat(body: dict[str, Any]) -> ChatRequest:
    """Validate a chat completions body; raise `InvalidRequest` naming the first fault."""
    model = string(_required(body, "model"), "model")
    if not model:
        invalid("model", "Invalid 'model': empty string. Expected a non-empty model name.")
    messages = array(_required(body, "messages"), "messages")
    if not messages:
        invalid(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        check_message(message, f"messages[{index}]")
    max_tokens = optional(body, "max_tokens", lambda v, p: integer(v, p, low=1))
    max_completion = optional(body, "max_completion_tokens", lambda v, p: integer(v, p, low=1))
    optional(body, "n", lambda v, p: integer(v, p, low=1, high=128))
    stream = bool(optional(body, "stream", boolean))
    include_usage = _check_stream_options(body, stream=stream)
    _check_sampling(body)
    tools = optional(body, "tools", _check_tools) or []
    optional(body, "tool_choice", _check_tool_choice)
    optional(body, "response_format", _check_response_format)
    _check_plain_fields(body)
    return ChatRequest(
        body=body,
        model=model,
        stream=stream,
        include_usage=include_usage,
        max_tokens=max_completion if max_completion is not None else max_tokens,
        has_tools=bool(tools),
    )


def _required(body: dict[str, Any], key: str) -> Any:
    value = body.get(key)
    if value is None:
        missing(key)
    return value


def _check_stream_options(body: dict[str, Any], *, stream: bool) -> bool:
    options = optional(body, "stream_options", obj)
    if options is None:
        return False
    if not stream:
        invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            code=None,
        )
    include = options.get("include_usage")
    return include is not None and boolean(include, "stream_options.include_usage")


def _check_sampling(body: dict[str, Any]) -> None:
    optional(body, "temperature", lambda v, p: number(v, p, low=0, high=2))
    optional(body, "top_p", lambda v, p: number(v, p, low=0, high=1))
    optional(body, "presence_penalty", lambda v, p: number(v, p, low=-2, high=2))
    optional(body, "frequency_penalty", lambda v, p: number(v, p, low=-2, high=2))
    optional(body, "top_logprobs", lambda v, p: integer(v, p, low=0, high=20))
    optional(body, "seed", integer)
    stop = body.get("stop")
    if stop is None or isinstance(stop, str):
        return
    sequences = array(stop, "stop", expected="one of a string or array of strings")
    if len(sequences) > MAX_STOP_SEQUENCES:
        invalid(
            "stop",
            f"Invalid 'stop': array too long. Expected an array with maximum length "
            f"{MAX_STOP_SEQUENCES}, but got an array with length {len(sequences)} instead.",
            code="array_above_max_length",
        )
    for index, sequence in enumerate(sequences):
        string(sequence, f"stop[{index}]")


def _check_tools(value: Any, path: str) -> list[Any]:
    tools = array(value, path)
    for index, tool_value in enumerate(tools):
        tool_path = f"{path}[{index}]"
        tool = obj(tool_value, tool_path)
        if tool.get("type") is None:
            missing(f"{tool_path}.type")
        if string(tool["type"], f"{tool_path}.type") == "function":
            if tool.get("function") is None:
                missing(f"{tool_path}.function")
            _check_function(obj(tool["function"], f"{tool_path}.function"), tool_path)
    return tools


def _check_function(function: dict[str, Any], tool_path: str) -> None:
    path = f"{tool_path}.function"
    name_path = f"{path}.name"
    if function.get("name") is None:
        missing(name_path)
    name = string(function["name"], name_path)
    if len(name) > MAX_FUNCTION_NAME:
        invalid(
            name_path,
            f"Invalid '{name_path}': string too long. Expected a string with maximum length "
            f"{MAX_FUNCTION_NAME}, but got a string with length {len(name)} instead.",
            code="string_above_max_length",
        )
    if not FUNCTION_NAME.match(name):
        invalid(
            name_path,
            f"Invalid '{name_path}': string does not match pattern. Expected a string that "
            f"matches the pattern '{FUNCTION_NAME.pattern}'.",
            code="invalid_value",
        )
    optional(function, "description", string, prefix=path)
    optional(function, "parameters", obj, prefix=path)
    optional(function, "strict", boolean, prefix=path)


def _check_tool_choice(value: Any, path: str) -> None:
    if isinstance(value, str):
        invalid_value(value, path, ("none", "auto", "required"))
        return
    choice = obj(value, path, expected="one of a string or object")
    kind = choice.get("type")
    if kind is None:
        missing(f"{path}.type")
    if string(kind, f"{path}.type") == "function":
        function = obj(choice.get("function"), f"{path}.function")
        if function.get("name") is None:
            missing(f"{path}.function.name")
        string(function["name"], f"{path}.function.name")


def _check_response_format(value: Any, path: str) -> None:
    response_format = obj(value, path)
    if response_format.get("type") is None:
        missing(f"{path}.type")
    kind = string(response_format["type"], f"{path}.type")
    invalid_value(kind, f"{path}.type", ("text", "json_object", "json_schema"))
    if kind == "json_schema":
        schema_path = f"{path}.json_schema"
        if response_format.get("json_schema") is None:
            missing(schema_path)
        schema = obj(response_format["json_schema"], schema_path)
        if schema.get("name") is None:
            missing(f"{schema_path}.name")
        string(schema["name"], f"{schema_path}.name")


def _check_plain_fields(body: dict[str, Any]) -> None:
    """Simple optional fields whose JSON type is all there is to check."""
    for key in ("logprobs", "parallel_tool_calls", "store"):
        optional(body, key, boolean)
    for key in ("user", "reasoning_effort", "service_tier", "safety_identifier"):
        optional(body, key, string)
    for key in ("logit_bias", "metadata", "prediction", "audio", "web_search_options"):
        optional(body, key, obj)
    for index, modality in enumerate(optional(body, "modalities", array) or []):
        string(modality, f"modalities[{index}]")
