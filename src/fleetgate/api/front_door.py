"""The outermost ASGI app: where every request gets its id, and the fast lane of the hot paths.

The request id is made here, once per HTTP request, left in the scope for handlers (error bodies
quote it, the access log records it) and stamped on the response as `request-id` unless the
answer already names one.

`POST /v1/messages`, `/v1/messages/count_tokens` and `/v1/chat/completions` are nearly all of a
gateway's traffic. They skip Starlette's middleware stack and route matching, a measurable share
of a proxied call's own time, and their handler is called with a `Request` built here. Their
`endpoint` wrapper already renders every error in the API's own shape, so they answer exactly as
through the full stack. Everything else (lifespan, admin, usage, metrics, health, unknown paths
and methods) goes through the Starlette app unchanged.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

SCOPE_KEY = "fleetgate.request_id"

Lane = Callable[[Request], Awaitable[Response]]


def new_request_id() -> str:
    """An id in the style of Anthropic's `req_...`."""
    return "req_" + secrets.token_hex(12)


def request_id_of(scope: Scope) -> str:
    """The id the front door gave this request."""
    request_id: str = scope[SCOPE_KEY]
    return request_id


class FrontDoor:
    """Gives every HTTP request its id; routes `POST` to the hot paths in `lanes` directly, and
    all else to `app`."""

    def __init__(self, app: Starlette, lanes: Mapping[str, Lane]) -> None:
        self.app = app
        self._lanes = dict(lanes)

    @property
    def state(self) -> Any:
        """The Starlette app's state (it holds the gateway)."""
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope[SCOPE_KEY] = request_id
        if scope["method"] == "POST":
            lane = self._lanes.get(scope["path"])
            if lane is not None:
                scope["app"] = self.app
                response = await lane(Request(scope, receive, send))
                response.headers.setdefault("request-id", request_id)
                await response(scope, receive, send)
                return
        header = (b"request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"request-id" for name, _ in headers):
                    headers.append(header)
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
