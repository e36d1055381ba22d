"""RelayResponse: cleanup runs however a stream ends, even when nothing was sent; the head leaves
with the first chunk, or after a short hold when the upstream is slow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fleetgate.api.render import HEAD_HOLD_S, RelayResponse


def test_cleanup_runs_when_the_client_leaves_before_anything_was_sent() -> None:
    exits: list[int] = []
    sent: list[object] = []

    async def body() -> AsyncIterator[bytes]:
        await asyncio.Event().wait()  # an upstream that never answers
        yield b"data: x\n\n"

    async def receive() -> dict[str, str]:
        return {"type": "http.disconnect"}

    async def send(message: object) -> None:
        sent.append(message)

    async def run() -> None:
        response = RelayResponse(body(), on_exit=lambda: exits.append(1))
        scope = {"type": "http", "asgi": {"spec_version": "2.3"}}
        await response(scope, receive, send)

    asyncio.run(run())
    assert exits == [1]
    assert sent == []  # the client left before the head was due


def test_cleanup_runs_when_the_client_never_reads_the_head() -> None:
    exits: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"data: x\n\n"

    async def receive() -> dict[str, str]:
        await asyncio.sleep(0.05)
        return {"type": "http.disconnect"}

    async def send(message: object) -> None:
        await asyncio.Event().wait()  # a client that never reads

    async def run() -> None:
        response = RelayResponse(body(), on_exit=lambda: exits.append(1))
        await response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)

    asyncio.run(run())
    assert exits == [1]


def test_head_leaves_with_the_first_chunk_or_after_the_hold() -> None:
    async def quiet() -> dict[str, str]:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def stream(delay: float) -> list[tuple[str, float]]:
        log: list[tuple[str, float]] = []
        loop = asyncio.get_running_loop()
        began = loop.time()

        async def body() -> AsyncIterator[bytes]:
            await asyncio.sleep(delay)
            yield b"data: x\n\n"

        async def send(message: dict[str, object]) -> None:
            log.append((str(message["type"]), loop.time() - began))

        response = RelayResponse(body(), on_exit=lambda: None)
        await response({"type": "http", "asgi": {"spec_version": "2.3"}}, quiet, send)
        return log

    fast = asyncio.run(stream(0.0))
    assert [kind for kind, _ in fast] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    slow = asyncio.run(stream(HEAD_HOLD_S + 0.3))
    assert slow[0][0] == "http.response.start"
    head_at, first_at = slow[0][1], slow[1][1]
    assert HEAD_HOLD_S - 0.01 <= head_at < HEAD_HOLD_S + 0.2  # not held for the slow upstream
    assert first_at >= HEAD_HOLD_S + 0.29


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
