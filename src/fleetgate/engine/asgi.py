"""The few raw-ASGI pieces the engine needs: types, reading a body, answering, watching disconnects.

The engine speaks ASGI directly (no framework) because it sits under the gateway's overhead
benchmark. `DisconnectWatch` turns a client disconnect into the cancellation of the request's
task, so whatever the handler awaits (queue, batch step, hang, latency) ends at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fleetgate.errors import RequestTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
SSE = b"text/event-stream; charset=utf-8"
MAX_BODY_BYTES = 32 * 1024 * 1024


class ClientGone(Exception):
    """The client disconnected before the request body arrived."""


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body; `RequestTooLarge` above `limit`, `ClientGone` on disconnect."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"the request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, body: bytes, content_type: bytes = JSON) -> None:
    """Send a complete response."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def start_event_stream(send: Send) -> None:
    """Send the headers of an SSE response."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", SSE), (b"cache-control", b"no-cache")],
        }
    )


class DisconnectWatch:
    """Cancels the current task when the client disconnects, until `stop()` is called.

    Use: create it after the body is read; call `stop()` before sending the last message of
    the response; catch `CancelledError` and call `absorb()` to tell our cancellation (True)
    from anyone else's (re-raise those).
    """

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("DisconnectWatch needs a running task")
        self._task = task
        self.disconnected = False
        self._watcher = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            continue
        self.disconnected = True
        self._task.cancel()

    def stop(self) -> None:
        """Stop watching (the response is about to complete or has been abandoned)."""
        self._watcher.cancel()

    def absorb(self) -> bool:
        """After a `CancelledError`: True (cancellation undone) when a disconnect caused it."""
        self.stop()
        if not self.disconnected:
            return False
        self._task.uncancel()
        return True
