"""The outermost ASGI app: the generation endpoints go straight to their handlers.

`POST /v1/messages`, `/v1/messages/count_tokens` and `/v1/chat/completions` are nearly all of a
gateway's traffic. They skip Starlette's middleware stack and route matching, a measurable share
of a proxied call's own time, and their handler is called with a `Request` built here. Their
`endpoint` wrapper already renders every error in the API's own shape and stamps the request id,
so they answer exactly as through the full stack. Everything else (lifespan, admin, usage,
metrics, health, unknown paths and methods) goes through the Starlette app unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fleetgate.api.request_id import SCOPE_KEY
from fleetgate.gateway.call import new_request_id

Lane = Callable[[Request], Awaitable[Response]]


class FrontDoor:
    """Routes `POST` to the hot paths in `lanes` directly, and all else to `app`."""

    def __init__(self, app: Starlette, lanes: Mapping[str, Lane]) -> None:
        self.app = app
        self._lanes = dict(lanes)

    @property
    def state(self) -> Any:
        """The Starlette app's state (it holds the gateway)."""
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            lane = self._lanes.get(scope["path"])
            if lane is not None:
                scope["app"] = self.app
                scope[SCOPE_KEY] = new_request_id()
                response = await lane(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
