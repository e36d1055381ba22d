"""A lean keep-alive HTTP/1.1 client connection for backends, parsed with httptools.

Owns one TCP (or TLS) connection: writing a request, parsing the answer (status line, headers,
a body framed by content-length, chunked encoding or the end of the connection), buffering the
body with flow control (reading pauses while a slow consumer leaves more than `HIGH_WATER` bytes
unread), and knowing whether the connection can carry the next request. `pool.py` reuses these
connections; `client.py` maps the two exceptions below onto fleetgate's own.

Why not a general-purpose client: a proxied call is a few hundred microseconds of work, and a
general client's per-request machinery (request/response objects, cookie and redirect handling,
layered timers) was the largest single share of the gateway's own latency on loopback.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

HIGH_WATER = 1 << 20
"""Unread body bytes at which reading from the backend pauses."""
LOW_WATER = 1 << 18
"""Unread body bytes under which reading resumes."""


class TransportFailure(Exception):
    """The connection failed, closed early or carried something that is not HTTP/1.1."""


class ReadTimeout(Exception):
    """Nothing arrived from the backend within the allowed time."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests for one backend URL go: scheme, host, port and a path prefix."""

    tls: bool
    host: str
    port: int
    base_path: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> Origin:
        """`http(s)://host[:port][/prefix]`; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"a backend URL is http:// or https:// with a host, got {url!r}")
        tls = parts.scheme == "https"
        default = 443 if tls else 80
        port = parts.port or default
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        header = shown if port == default else f"{shown}:{port}"
        return cls(tls, host, port, parts.path.rstrip("/"), header)


class Connection(asyncio.Protocol):
    """One keep-alive connection to a backend, carrying one request at a time."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.on_lost: Callable[[Connection], None] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._body: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False
        self.error: BaseException | None = None
        self._informational = False
        self._body.clear()
        self._buffered = 0

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(TransportFailure("the backend switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(TransportFailure(f"the backend sent a malformed HTTP answer: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.complete and self._ends_at_close():
            self.complete = True  # a body delimited by the end of the connection
        elif not self.complete:
            why = f": {exc}" if exc else ""
            self.error = self.error or TransportFailure(
                f"the backend closed the connection before its answer ended{why}"
            )
        if self.on_lost is not None:
            self.on_lost(self)
        self._wake()

    def pause_writing(self) -> None:  # large request bodies: the transport buffers them
        pass

    def resume_writing(self) -> None:
        pass

    # ------------------------------------------------------------------ httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self.headers.get(key)
        self.headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer: the real one follows
            self._informational = True
            self.headers = {}
            return
        self.status = status
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._body.append(bytes(body))
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()
        self._wake()

    # ------------------------------------------------------------------ use

    def send(self, head: bytes, body: bytes) -> None:
        """Write one request; the previous answer must have been read whole."""
        assert self.transport is not None
        self._reset()
        if len(body) > 65536:
            self.transport.writelines((head, body))  # no copy of a large body
        else:
            self.transport.write(head + body)

    async def read_head(self, within_s: float) -> None:
        """Wait for the status line and headers."""
        while not self.headers_done:
            if self.error is not None:
                raise self.error
            await self._wait(within_s, "no answer from the backend in time")

    async def read_chunk(self, within_s: float) -> bytes | None:
        """The next piece of the body, or None at its end."""
        while True:
            if self._body:
                chunk = self._body.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered < LOW_WATER and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                return chunk
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            await self._wait(within_s, "the backend stopped sending its answer")

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another request now."""
        return self.complete and self.keep_alive and not self.closed and not self._body

    def close(self) -> None:
        """Drop the connection (idempotent)."""
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    # ------------------------------------------------------------------ internals

    def _ends_at_close(self) -> bool:
        return "content-length" not in self.headers and "chunked" not in self.headers.get(
            "transfer-encoding", ""
        )

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, within_s: float, message: str) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(within_s, _expire, waiter, message)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _expire(waiter: asyncio.Future[None], message: str) -> None:
    if not waiter.done():
        waiter.set_exception(ReadTimeout(message))
