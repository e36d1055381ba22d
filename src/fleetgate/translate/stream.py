"""What every stream converter shares: the `StreamConverter` protocol and the error endings.

A stream converter takes upstream SSE bytes and gives front-door SSE bytes, tracking usage on the
way. It knows whether the upstream finished properly (`complete`) and how to end a broken stream
in its front door's error shape (`anthropic_error_event`, `openai_error_chunk`). An upstream
event's data is read with `load_event`; a mid-stream error object from the upstream becomes an
`ApiError` through `stream_error`.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from fleetgate.errors import ApiError, Overloaded, UpstreamError, spec_for
from fleetgate.seams import Usage
from fleetgate.translate.sse import anthropic_event_bytes, openai_chunk_bytes


class StreamConverter(Protocol):
    """Turns an upstream stream into the front door's stream."""

    complete: bool

    @property
    def usage(self) -> Usage:
        """What the stream used so far (the upstream's report, or a count of what was sent)."""
        ...

    def start(self) -> bytes:
        """Bytes to send as soon as the upstream accepted the request."""
        ...

    def feed(self, chunk: bytes) -> bytes:
        """Front-door bytes for one upstream chunk (may be empty)."""
        ...

    def finish(self) -> bytes:
        """Closing bytes once the upstream ended."""
        ...

    def error(self, exc: ApiError) -> bytes:
        """An error event that ends the stream in the front door's shape."""
        ...


def anthropic_error_event(exc: ApiError) -> bytes:
    """`event: error` with Anthropic's error object."""
    payload = {
        "type": "error",
        "error": {"type": spec_for(exc).anthropic_type, "message": exc.message},
    }
    return anthropic_event_bytes(payload)


def openai_error_chunk(exc: ApiError) -> bytes:
    """A `data:` chunk carrying OpenAI's error object (the SDKs raise on it)."""
    spec = spec_for(exc)
    error = {"message": exc.message, "type": spec.openai_type, "param": None, "code": exc.code}
    return openai_chunk_bytes({"error": error})


def load_event(data: str) -> dict[str, Any]:
    """An event's JSON object; `{}` when the data is not a JSON object."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return payload if isinstance(payload, dict) else {}


def stream_error(payload: dict[str, Any]) -> ApiError:
    """The error an upstream reported mid-stream (`overloaded_error` stays an overload)."""
    error = payload.get("error")
    message = "the backend reported an error mid-stream"
    kind = ""
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        kind = str(error.get("type") or "")
    if kind == "overloaded_error":
        return Overloaded(message)
    return UpstreamError(message)
