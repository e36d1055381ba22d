"""The gateway's neutral `Answer` rendered as the ASGI response.

A whole answer becomes a plain `Response`. A stream becomes a `RelayResponse`: streamed from the
request's own task, its head held (at most `HEAD_HOLD_S`) so it leaves with the first chunk, and
its `on_exit` run however the response ends, client disconnects included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from fleetgate.gateway.answer import Answer

HEAD_HOLD_S = 0.25
"""How long a stream's response head may wait for the first chunk to leave with it."""


def response_for(answer: Answer) -> Response:
    """The ASGI response that sends `answer`."""
    if answer.stream is None:
        return Response(answer.body, headers=answer.headers, media_type=answer.media_type)
    return RelayResponse(
        answer.stream,
        on_exit=answer.on_exit or _nothing,
        headers=answer.headers,
        media_type=answer.media_type,
    )


def _nothing() -> None:
    return None


class RelayResponse(StreamingResponse):
    """A streaming response whose `on_exit` runs however the response ends, even when the client
    disconnects before the body iterator was ever started (its own cleanup then never runs).
    `on_exit` must be safe to run after a complete stream too (settlement is exactly-once)."""

    def __init__(self, content: AsyncIterator[bytes], *, on_exit: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._on_exit = on_exit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream from the request's own task; a small watcher task cancels it when the client
        disconnects (no task group, no task hop before the first byte)."""
        streaming = asyncio.current_task()
        assert streaming is not None
        gone = False

        async def watch_for_disconnect() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            streaming.cancel()

        watcher = asyncio.get_running_loop().create_task(watch_for_disconnect())
        try:
            await self.stream_response(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            streaming.uncancel()  # the client left: the stream ends here, quietly
        finally:
            watcher.cancel()
            self._on_exit()

    async def stream_response(self, send: Send) -> None:
        """Like Starlette's, but the head waits (at most `HEAD_HOLD_S`) for the first chunk, so
        both leave together: the client's first byte comes one wake-up sooner."""
        loop = asyncio.get_running_loop()
        start = {"type": "http.response.start", "status": self.status_code}
        start["headers"] = self.raw_headers
        head_sent = False
        head_task: asyncio.Task[None] | None = None

        async def send_head() -> None:
            await send(start)

        def release_head() -> None:  # the upstream is slow: let the client see the head now
            nonlocal head_sent, head_task
            if not head_sent:
                head_sent = True
                head_task = loop.create_task(send_head())

        async def head_out() -> None:
            nonlocal head_sent, head_task
            if not head_sent:
                head_sent = True
                timer.cancel()
                await send(start)
            elif head_task is not None:
                await head_task
                head_task = None

        timer = loop.call_later(HEAD_HOLD_S, release_head)
        try:
            async for chunk in self.body_iterator:
                await head_out()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await head_out()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            timer.cancel()
            if head_task is not None:
                head_task.cancel()
