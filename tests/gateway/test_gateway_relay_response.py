"""RelayResponse: cleanup runs however a stream ends, even when its body never started."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fleetgate.gateway.pipeline import RelayResponse


def test_cleanup_runs_when_the_client_leaves_before_the_body() -> None:
    started: list[bool] = []
    exits: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        started.append(True)
        yield b"data: x\n\n"

    async def receive() -> dict[str, str]:
        return {"type": "http.disconnect"}

    async def send(message: object) -> None:
        await asyncio.Event().wait()  # a client that never reads

    async def run() -> None:
        response = RelayResponse(body(), on_exit=lambda: exits.append(1))
        scope = {"type": "http", "asgi": {"spec_version": "2.3"}}
        await response(scope, receive, send)

    asyncio.run(run())
    assert exits == [1]
    assert started == []


def test_cleanup_runs_once_after_a_complete_stream() -> None:
    exits: list[int] = []
    sent: list[object] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"data: x\n\n"

    async def receive() -> dict[str, str]:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: object) -> None:
        sent.append(message)

    async def run() -> None:
        response = RelayResponse(body(), on_exit=lambda: exits.append(1))
        await response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)

    asyncio.run(run())
    assert exits == [1]
    assert len(sent) == 3  # start, one chunk, the end of the body
