"""Pure ASGI middleware: every HTTP answer carries a `request-id` header.

The id is made here, once per request, and left in the scope for handlers (error bodies quote
it); answers that already name one keep theirs.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleetgate.gateway.call import new_request_id

SCOPE_KEY = "fleetgate.request_id"


class RequestIdMiddleware:
    """Adds `request-id` to every HTTP response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope[SCOPE_KEY] = request_id
        header = (b"request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"request-id" for name, _ in headers):
                    headers.append(header)
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id_of(scope: Scope) -> str:
    """The id the middleware gave this request (a fresh one outside the middleware)."""
    value = scope.get(SCOPE_KEY)
    return value if isinstance(value, str) else new_request_id()
