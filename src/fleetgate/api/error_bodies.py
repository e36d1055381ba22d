"""Rendering an `ApiError` as the JSON error body and HTTP status of each API.

Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
OpenAI: ``{"error": {"message", "type", "param", "code"}}``; a `RateLimited` error carries its
own OpenAI type (``"requests"`` or ``"tokens"``). Status and types come from
`fleetgate.errors.spec_for`, never from the message text.
"""

from __future__ import annotations

import orjson

from fleetgate.errors import ApiError, RateLimited, spec_for
from fleetgate.translate.table import Api


def status_for(error: ApiError, api: Api) -> int:
    """The HTTP status that answers `error` on `api`."""
    spec = spec_for(error)
    return spec.status if api == "anthropic" else spec.openai_status


def anthropic_error_body(error: ApiError, request_id: str) -> bytes:
    """The Anthropic Messages API error body for `error`."""
    body = {
        "type": "error",
        "error": {"type": spec_for(error).anthropic_type, "message": error.message},
        "request_id": request_id,
    }
    return orjson.dumps(body)


def openai_error_type(error: ApiError) -> str:
    """The OpenAI `error.type` for `error` (a rate limit says which bucket: requests or tokens)."""
    if isinstance(error, RateLimited):
        return error.openai_type
    return spec_for(error).openai_type


def openai_error_body(error: ApiError) -> bytes:
    """The OpenAI API error body for `error`."""
    body = {
        "error": {
            "message": error.message,
            "type": openai_error_type(error),
            "param": error.param,
            "code": error.code,
        }
    }
    return orjson.dumps(body)
