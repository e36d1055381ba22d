"""The upstream HTTP/1.1 client against scripted loopback servers, on asyncio's and uvloop's loops:
keep-alive reuse, body framings, a backend closing idle connections, timeouts, broken streams,
malformed answers, refused connections, cancellation, flow control and the connection cap."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvloop

from conftest import self_signed_certificate
from fleetgate.errors import UpstreamStatus, UpstreamTimeout, UpstreamUnavailable
from fleetgate.upstream.client import Timeouts, UpstreamClient
from fleetgate.upstream.http11 import HIGH_WATER, Origin

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


@dataclass
class Backend:
    url: str
    protocol: str = "openai"
    api_key_env: str | None = None


class Server:
    """A loopback server running `handler` for each connection; counts connections and keeps
    each request head it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def backend(self) -> Backend:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return Backend(f"http://127.0.0.1:{port}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handler(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        self.bodies.append(body)
        return body


def ok_response(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


LOOPS: list[Callable[[Coroutine[Any, Any, None]], None]] = [asyncio.run, uvloop.run]


@pytest.fixture(params=LOOPS, ids=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, None]], None]:
    runner: Callable[[Coroutine[Any, Any, None]], None] = request.param
    return runner


def client(**timeouts: float) -> UpstreamClient:
    return UpstreamClient(Timeouts(**timeouts))


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server):
    while True:
        body = await srv.read_request(reader)
        writer.write(ok_response(b'{"echo":' + body + b"}"))
        await writer.drain()


def test_keep_alive_reuses_one_connection_and_sends_a_proper_head(run) -> None:
    async def main() -> None:
        async with Server(echo_forever) as srv:
            up = client()
            for n in range(3):
                response = await up.send(srv.backend, "/v1/chat/completions", b"[%d]" % n, {})
                assert response.status == 200
                assert response.headers["content-type"] == "application/json"
                assert await response.read() == b'{"echo":[%d]}' % n
            assert srv.connections == 1
            assert up.pool.open_connections == 1
            head = srv.heads[0].decode()
            assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
            assert f"host: {srv.backend.url.removeprefix('http://')}\r\n" in head
            assert "content-length: 3\r\n" in head
            assert "content-type: application/json\r\n" in head
            await up.close()

    run(main())


def test_path_prefix_auth_and_forwarded_headers(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETGATE_TEST_UPSTREAM_KEY", "sk-upstream")

    async def main() -> None:
        async with Server(echo_forever) as srv:
            up = client()
            key_env = "FLEETGATE_TEST_UPSTREAM_KEY"
            backend = Backend(srv.backend.url + "/prefix/", "anthropic", key_env)
            response = await up.send(backend, "/v1/messages", b"{}", {"anthropic-beta": "x,y"})
            await response.read()
            head = srv.heads[0].decode()
            assert head.startswith("POST /prefix/v1/messages HTTP/1.1")
            assert "x-api-key: sk-upstream\r\n" in head
            assert "anthropic-beta: x,y\r\n" in head
            with pytest.raises(UpstreamUnavailable, match="line break"):
                await up.send(backend, "/v1/messages", b"{}", {"anthropic-beta": "a\r\nevil: 1"})
            await up.close()

    run(main())


def test_chunked_stream_arrives_piece_by_piece(run) -> None:
    async def handler(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"6\r\ndata 1\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"6\r\ndata 2\r\n0\r\n\r\n")
        await writer.drain()
        await srv.read_request(reader)  # the connection is reused for the next request
        writer.write(ok_response(b"{}"))
        await writer.drain()

    async def main() -> None:
        async with Server(handler) as srv:
            up = client()
            response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            seen = [chunk async for chunk in response.chunks()]
            assert seen == [b"data 1", b"data 2"]
            again = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            assert await again.read() == b"{}"
            assert srv.connections == 1
            await up.close()

    run(main())


def test_body_delimited_by_the_end_of_the_connection(run) -> None:
    async def handler(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()

    async def main() -> None:
        async with Server(handler) as srv:
            up = client()
            response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            assert await response.read() == b"all of it"
            assert up.pool.open_connections == 0
            await up.close()

    run(main())


def test_a_backend_closing_an_idle_connection_costs_nothing(run) -> None:
    async def one_then_close(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(ok_response(b"{}"))
        await writer.drain()  # then the handler returns: the idle connection is closed

    async def main() -> None:
        async with Server(one_then_close) as srv:
            up = client()
            for _ in range(3):
                response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
                assert await response.read() == b"{}"
                await asyncio.sleep(0.02)
            assert srv.connections == 3
            await up.close()

    run(main())


def test_reused_connection_dropped_at_request_time_is_replaced_once(run) -> None:
    async def handler(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(ok_response(b"{}"))
        await writer.drain()
        if srv.connections == 1:  # the first connection dies as the next request arrives
            await reader.readuntil(b"\r\n\r\n")
            writer.transport.abort()
            return
        while True:
            await srv.read_request(reader)
            writer.write(ok_response(b"{}"))
            await writer.drain()

    async def main() -> None:
        async with Server(handler) as srv:
            up = client()
            first = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            await first.read()
            second = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            assert await second.read() == b"{}"
            assert srv.connections == 2
            await up.close()

    run(main())


def test_error_status_raises_with_the_body(run) -> None:
    async def handler(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        body = b'{"error":{"message":"busy"}}'
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()
        await asyncio.sleep(1)

    async def main() -> None:
        async with Server(handler) as srv:
            up = client()
            with pytest.raises(UpstreamStatus) as caught:
                await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            assert caught.value.status == 503
            assert caught.value.body == b'{"error":{"message":"busy"}}'
            await up.close()

    run(main())


def test_timeouts_before_the_head_and_between_chunks(run) -> None:
    async def silent(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        await asyncio.sleep(5)

    async def stalls(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async def main() -> None:
        async with Server(silent) as srv:
            up = client(first_byte=0.1)
            with pytest.raises(UpstreamTimeout, match="in time"):
                await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            await asyncio.sleep(0.01)  # the transport closes on the next loop turn
            assert up.pool.open_connections == 0
            await up.close()
        async with Server(stalls) as srv:
            up = client(read=0.1)
            response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            chunks = response.chunks()
            assert await anext(chunks) == b"abc"
            with pytest.raises(UpstreamTimeout, match="stopped"):
                await anext(chunks)
            await asyncio.sleep(0.01)
            assert up.pool.open_connections == 0
            await up.close()

    run(main())


def test_broken_stream_and_malformed_answer(run) -> None:
    async def breaks(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await writer.drain()

    async def garbage(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"SPDY/9 what is this\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async def main() -> None:
        async with Server(breaks) as srv:
            up = client()
            response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            with pytest.raises(UpstreamUnavailable, match="closed the connection"):
                await response.read()
            await up.close()
        async with Server(garbage) as srv:
            up = client()
            with pytest.raises(UpstreamUnavailable, match="malformed"):
                await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            await up.close()

    run(main())


def test_refused_connection_and_bad_url(run) -> None:
    async def main() -> None:
        up = client(connect=1)
        async with Server(echo_forever) as srv:
            dead = srv.backend
        with pytest.raises(UpstreamUnavailable, match="cannot reach"):
            await up.send(dead, "/v1/chat/completions", b"{}", {})
        with pytest.raises(UpstreamUnavailable, match="http:// or https://"):
            await up.send(Backend("ftp://example"), "/v1/chat/completions", b"{}", {})
        await up.close()

    run(main())


def test_cancelled_request_closes_its_connection(run) -> None:
    async def slow(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        await asyncio.sleep(0.3)
        writer.write(ok_response(b"{}"))
        await writer.drain()
        await asyncio.sleep(1)

    async def main() -> None:
        async with Server(slow) as srv:
            up = client()
            task = asyncio.create_task(up.send(srv.backend, "/v1/chat/completions", b"{}", {}))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.01)
            assert up.pool.open_connections == 0
            await up.close()

    run(main())


def test_slow_reader_pauses_the_backend_and_loses_nothing(run) -> None:
    piece = os.urandom(64 * 1024)
    pieces = 4 * HIGH_WATER // len(piece)

    async def firehose(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(pieces):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def main() -> None:
        async with Server(firehose) as srv:
            up = client()
            response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            await asyncio.sleep(0.3)  # the backend fills the buffer; reading must pause
            conn = response._conn
            assert conn._buffered <= HIGH_WATER + 2 * len(piece)
            received = bytearray()
            async for chunk in response.chunks():
                received += chunk
            assert received == piece * pieces
            await up.close()

    run(main())


def test_connection_cap_makes_callers_wait(run) -> None:
    async def slow_echo(reader, writer, srv: Server) -> None:
        while True:
            body = await srv.read_request(reader)
            await asyncio.sleep(0.05)
            writer.write(ok_response(body))
            await writer.drain()

    async def main() -> None:
        async with Server(slow_echo) as srv:
            up = UpstreamClient(Timeouts(), max_connections=2)
            most = 0

            async def one(n: int) -> bytes:
                nonlocal most
                response = await up.send(srv.backend, "/v1/chat/completions", b"%d" % n, {})
                most = max(most, up.pool.open_connections)
                return await response.read()

            answers = await asyncio.gather(*(one(n) for n in range(6)))
            assert answers == [b"%d" % n for n in range(6)]
            assert most <= 2
            assert srv.connections == 2
            await up.close()

    run(main())


def test_interim_answer_is_skipped_and_header_repeats_are_joined(run) -> None:
    async def handler(reader, writer, srv: Server) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(ok_response(b"{}", extra=b"x-thing: a\r\nX-Thing: b\r\n"))
        await writer.drain()
        await asyncio.sleep(1)

    async def main() -> None:
        async with Server(handler) as srv:
            up = client()
            response = await up.send(srv.backend, "/v1/chat/completions", b"{}", {})
            assert response.status == 200
            assert response.headers["x-thing"] == "a, b"
            assert await response.read() == b"{}"
            await up.close()

    run(main())


def test_origin_parsing() -> None:
    assert Origin.parse("https://api.example.com") == Origin(
        True, "api.example.com", 443, "", "api.example.com"
    )
    assert Origin.parse("http://[::1]:8000/v1/") == Origin(False, "::1", 8000, "/v1", "[::1]:8000")
    with pytest.raises(ValueError, match="http"):
        Origin.parse("localhost:8000")


def test_https_backend_is_verified(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def main(trusted: bool) -> None:
        server = await asyncio.start_server(
            lambda r, w: echo_forever(r, w, Server(echo_forever)), "127.0.0.1", 0, ssl=server_tls
        )
        port = server.sockets[0].getsockname()[1]
        up = client(connect=5)
        backend = Backend(f"https://localhost:{port}")
        try:
            if trusted:
                response = await up.send(backend, "/v1/chat/completions", b"[1]", {})
                assert await response.read() == b'{"echo":[1]}'
            else:
                with pytest.raises(UpstreamUnavailable, match="cannot reach"):
                    await up.send(backend, "/v1/chat/completions", b"[1]", {})
        finally:
            await up.close()
            server.close()

    run(main(trusted=False))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # how an operator trusts a private CA
    run(main(trusted=True))
