"""The gateway's answer to a generation request, in no web framework's terms.

An `Answer` is headers, a media type, and either the whole body or an async iterator of body
chunks; its status is always 200 (a refusal or failure is raised as an `ApiError`, not answered).
`fleetgate.api` renders it as the ASGI response; the gateway never imports Starlette.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Answer:
    """What to send the client."""

    headers: dict[str, str]
    media_type: str
    body: bytes = b""
    """The whole body, when `stream` is None."""
    stream: AsyncIterator[bytes] | None = None
    """The body as it is produced (a relayed stream)."""
    on_exit: Callable[[], None] | None = None
    """For a stream: run however the response ends, even when the client left before the body
    iterator started (its own cleanup then never runs). Safe to run after a complete stream."""
