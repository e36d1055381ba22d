"""The gateway's server protocol: response heads leave with their first body bytes, never later
than the end of the loop iteration that wrote them, and answers stay byte-for-byte HTTP/1.1."""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from gateway_harness import ServerThread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conftest import free_port
from fleetgate.api.server_protocol import CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"


class RecordingTransport:
    """Records each write as the socket would see it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def write_eof(self) -> None:
        self.writes.append(b"<eof>")

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1234) if name == "peername" else default


def in_loop(test: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run an async test body in a fresh event loop."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())  # type: ignore[arg-type]

    return run


def _coalescing() -> tuple[CoalescingTransport, RecordingTransport]:
    inner = RecordingTransport()
    return CoalescingTransport(inner, asyncio.get_running_loop()), inner  # type: ignore[arg-type]


@in_loop
async def test_a_head_leaves_with_the_body_written_after_it() -> None:
    transport, inner = _coalescing()
    transport.write(HEAD)
    assert inner.writes == []
    transport.write(b"5\r\nhello\r\n")
    assert inner.writes == [HEAD + b"5\r\nhello\r\n"]
    transport.write(b"0\r\n\r\n")
    assert inner.writes[-1] == b"0\r\n\r\n"
    await asyncio.sleep(0)
    assert len(inner.writes) == 2  # the scheduled flush found nothing held


@in_loop
async def test_a_head_alone_leaves_at_the_end_of_its_loop_iteration() -> None:
    transport, inner = _coalescing()
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert inner.writes == [HEAD]
    transport.write(b"5\r\nhello\r\n")
    assert inner.writes == [HEAD, b"5\r\nhello\r\n"]


@in_loop
async def test_interim_answers_and_body_bytes_leave_at_once() -> None:
    transport, inner = _coalescing()
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    transport.write(b"HTTP/1.1 looks like a head but is body text")
    assert inner.writes == [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 looks like a head but is body text",
    ]


@in_loop
async def test_close_and_eof_send_a_held_head_first_and_abort_drops_it() -> None:
    transport, inner = _coalescing()
    transport.write(HEAD)
    transport.close()
    assert inner.writes == [HEAD] and inner.closed
    transport, inner = _coalescing()
    transport.write(HEAD)
    transport.write_eof()
    assert inner.writes == [HEAD, b"<eof>"]
    transport, inner = _coalescing()
    transport.write(HEAD)
    transport.abort()
    await asyncio.sleep(0)
    assert inner.writes == [] and inner.aborted
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1234)  # the rest passes through


@in_loop
async def test_a_head_is_not_written_to_a_transport_closed_meanwhile() -> None:
    transport, inner = _coalescing()
    transport.write(HEAD)
    inner.closed = True
    await asyncio.sleep(0)
    assert inner.writes == []


# --------------------------------------------------------------------------- a live server


async def _slow_stream(request: Request) -> Response:
    async def events() -> Any:
        await asyncio.sleep(0.3)  # the head must not wait for this
        yield b"data: one\n\n"
        yield b"data: two\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def _echo(request: Request) -> Response:
    return JSONResponse({"got": (await request.body()).decode()})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(routes=[Route("/slow", _slow_stream), Route("/echo", _echo, methods=["POST"])])
    thread = ServerThread(app, free_port()).start()
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.stop()


def test_a_slow_stream_sends_its_head_before_its_first_event(server: str) -> None:
    started = time.monotonic()
    with httpx.Client() as client, client.stream("GET", f"{server}/slow") as response:
        head_after = time.monotonic() - started
        body = b"".join(response.iter_bytes())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert head_after < 0.25, head_after
    assert body == b"data: one\n\ndata: two\n\n"


def test_keep_alive_answers_stay_well_framed(server: str) -> None:
    with httpx.Client() as client:
        for index in range(20):
            answer = client.post(f"{server}/echo", content=f"request {index}")
            assert answer.status_code == 200
            assert answer.json() == {"got": f"request {index}"}


def test_expect_100_continue_gets_its_interim_answer_first(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hi")
        answer = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
        while b'"got":"hi"' not in answer:
            more = sock.recv(4096)
            assert more, answer
            answer += more
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
