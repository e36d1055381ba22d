"""Turning a raw HTTP request body into a JSON object, with clear errors for anything else.

Owns the content-type check and the JSON parse that both API shells run before schema validation:
`application/json` (any parameters, any `application/*+json` type) or no content type at all is
parsed; a clearly different media type is refused with `UnsupportedMediaType`; invalid UTF-8,
malformed JSON (with line, column and byte position) and a top level that is not an object are
refused with `InvalidRequest`.
"""

from __future__ import annotations

from typing import Any

import orjson

from fleetgate.errors import InvalidRequest, UnsupportedMediaType

_JSON_NAMES = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
}


def is_json_media_type(content_type: str | None) -> bool:
    """Whether `content_type` declares JSON; a missing or empty header counts as JSON."""
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type:
        return True
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def parse_json_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object in `raw`, or an `InvalidRequest` / `UnsupportedMediaType` saying why not."""
    if not is_json_media_type(content_type):
        media_type = (content_type or "").split(";", 1)[0].strip()
        raise UnsupportedMediaType(
            f"Unsupported content type '{media_type}': the request body must be JSON "
            "sent with 'content-type: application/json'"
        )
    if not raw.strip():
        raise InvalidRequest("request body is empty: expected a JSON object")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if not _is_utf8(raw):
            raise InvalidRequest("request body is not valid UTF-8") from None
        raise InvalidRequest(
            f"request body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno} (char {error.pos})"
        ) from None
    if not isinstance(parsed, dict):
        kind = _JSON_NAMES.get(type(parsed), "a JSON value")
        raise InvalidRequest(f"request body must be a JSON object, got {kind}")
    return parsed


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
