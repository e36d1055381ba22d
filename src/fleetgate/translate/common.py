"""Pieces shared by every Anthropic <-> OpenAI translator: typed field access that fails with an
API error naming the field path, tool-call ids and arguments, and the stop-reason tables.

Requests from clients fail with `InvalidRequest` (400); malformed upstream answers fail with
`UpstreamError` (502). Both name the path of the offending field, e.g. `messages[2].content[0]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from fleetgate.errors import ApiError

JsonObject = dict[str, Any]

_TOOL_ID_FORBIDDEN = re.compile(r"[^A-Za-z0-9_-]")
RAW_ARGUMENTS_KEY = "_raw"
"""Key holding tool arguments that were not a JSON object, so they survive a round trip."""

OPENAI_TO_ANTHROPIC_STOP: Mapping[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

ANTHROPIC_TO_OPENAI_FINISH: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def type_name(value: object) -> str:
    """A JSON-ish name for the type of `value`, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def mapping_at(value: object, path: str, error: type[ApiError]) -> Mapping[str, Any]:
    """`value` as an object, or `error` naming `path`."""
    if not isinstance(value, Mapping):
        raise error(f"{path}: expected an object, got {type_name(value)}", param=path)
    return value


def list_at(value: object, path: str, error: type[ApiError]) -> list[Any]:
    """`value` as an array, or `error` naming `path`."""
    if not isinstance(value, list | tuple):
        raise error(f"{path}: expected an array, got {type_name(value)}", param=path)
    return list(value)


def str_at(value: object, path: str, error: type[ApiError]) -> str:
    """`value` as a string, or `error` naming `path`."""
    if not isinstance(value, str):
        raise error(f"{path}: expected a string, got {type_name(value)}", param=path)
    return value


def optional_int(value: object, path: str, error: type[ApiError]) -> int | None:
    """`value` as an integer (None stays None), or `error` naming `path`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{path}: expected an integer, got {type_name(value)}", param=path)
    return value


def optional_number(value: object, path: str, error: type[ApiError]) -> float | int | None:
    """`value` as a number (None stays None), or `error` naming `path`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{path}: expected a number, got {type_name(value)}", param=path)
    return value


def strings_at(value: object, path: str, error: type[ApiError]) -> list[str]:
    """`value` as an array of strings, or `error` naming `path` (or the offending item's)."""
    return [
        str_at(item, f"{path}[{index}]", error)
        for index, item in enumerate(list_at(value, path, error))
    ]


def count_at(value: object) -> int:
    """A token count from an upstream usage field: non-integers and negatives count as 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(value, 0)


def safe_tool_id(raw: str, fallback: str) -> str:
    """A tool-call id both APIs accept (`[A-Za-z0-9_-]+`); `fallback` when `raw` is empty."""
    cleaned = _TOOL_ID_FORBIDDEN.sub("_", raw)
    return cleaned or fallback


def arguments_to_input(arguments: str) -> JsonObject:
    """OpenAI tool-call arguments (a JSON string) as an Anthropic tool input (an object).

    Empty arguments mean no arguments; anything that is not a JSON object is kept verbatim under
    `_raw` so that nothing the model wrote is lost.
    """
    if not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {RAW_ARGUMENTS_KEY: arguments}
    if isinstance(parsed, dict):
        return parsed
    return {RAW_ARGUMENTS_KEY: arguments}


def input_to_arguments(tool_input: object) -> str:
    """An Anthropic tool input as OpenAI tool-call arguments (the inverse of arguments_to_input)."""
    if isinstance(tool_input, Mapping):
        raw = tool_input.get(RAW_ARGUMENTS_KEY)
        if len(tool_input) == 1 and isinstance(raw, str):
            return raw
        return orjson.dumps(dict(tool_input)).decode("utf-8")
    if tool_input is None:
        return "{}"
    return orjson.dumps(tool_input).decode("utf-8")


def anthropic_stop_reason(
    finish_reason: str | None, *, matched_stop: object, had_tool_calls: bool
) -> tuple[str, str | None]:
    """Anthropic `(stop_reason, stop_sequence)` for an OpenAI `finish_reason`.

    `matched_stop` is vLLM's `stop_reason` field: the stop string that ended generation, when
    the server reports it. A response that carries tool calls stopped for tool use, whatever
    finish reason the server gave.
    """
    if finish_reason in (None, "stop", "tool_calls", "function_call") and had_tool_calls:
        return "tool_use", None
    if finish_reason == "stop" and isinstance(matched_stop, str) and matched_stop:
        return "stop_sequence", matched_stop
    if finish_reason is None:
        return "end_turn", None
    return OPENAI_TO_ANTHROPIC_STOP.get(finish_reason, "end_turn"), None


def openai_finish_reason(stop_reason: object) -> str:
    """OpenAI `finish_reason` for an Anthropic `stop_reason` (unknown reasons read as `stop`)."""
    if isinstance(stop_reason, str):
        return ANTHROPIC_TO_OPENAI_FINISH.get(stop_reason, "stop")
    return "stop"


def data_url(media_type: str, base64_data: str) -> str:
    """A `data:` URL carrying base64 content."""
    return f"data:{media_type};base64,{base64_data}"


def split_data_url(url: str) -> tuple[str, str] | None:
    """`(media_type, base64 data)` of a base64 `data:` URL, or None when `url` is not one."""
    if not url.startswith("data:"):
        return None
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        return None
    media_type, *params = header.split(";")
    if not media_type or "base64" not in (param.strip().lower() for param in params):
        return None
    return media_type, payload
