"""One pooled HTTP client per gateway process for talking to backends.

Owns the request a backend gets (head, auth headers per backend protocol), timeouts, and the
translation of transport failures into fleetgate's exception tree (`UpstreamUnavailable`,
`UpstreamTimeout`, `UpstreamStatus`). Responses are streamed: `send` returns once the status line
and headers arrive, and the caller reads the body whole or chunk by chunk;
`UpstreamResponse.close` is safe on every path and gives a fully read connection back to the pool.
The wire work is `http11.py` (one connection) and `pool.py` (keep-alive reuse).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from fleetgate.errors import UpstreamStatus, UpstreamTimeout, UpstreamUnavailable
from fleetgate.upstream.http11 import Connection, Origin, ReadTimeout, TransportFailure
from fleetgate.upstream.pool import ConnectionPool

ERROR_BODY_CAP = 64 * 1024
"""How much of an upstream error body is kept for the log and the error message."""
ERROR_BODY_WAIT_S = 10.0
"""How long an upstream error body may take to arrive."""
USER_AGENT = "fleetgate"


class BackendAddress(Protocol):
    """What the client needs to know about a backend."""

    @property
    def url(self) -> str: ...

    @property
    def protocol(self) -> str: ...

    @property
    def api_key_env(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, to get the response headers, and between two body reads."""

    connect: float = 5.0
    first_byte: float = 600.0
    read: float = 600.0


class UpstreamResponse:
    """A backend's answer whose body has not been read yet."""

    def __init__(self, conn: Connection, pool: ConnectionPool, read_timeout: float) -> None:
        self._conn = conn
        self._pool = pool
        self._read_timeout = read_timeout
        self._done = False
        self.status = conn.status
        self.headers: Mapping[str, str] = conn.headers
        """Header names in lower case; repeated headers joined with ", "."""

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (for non-streaming answers), or its first `limit` bytes."""
        parts: list[bytes] = []
        size = 0
        try:
            while limit is None or size < limit:
                chunk = await self._next()
                if chunk is None:
                    break
                parts.append(chunk)
                size += len(chunk)
        finally:
            self.close()
        body = b"".join(parts)
        return body if limit is None else body[:limit]

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, chunk by chunk; raises Upstream* errors on failure."""
        try:
            while (chunk := await self._next()) is not None:
                yield chunk
        finally:
            self.close()

    async def _next(self) -> bytes | None:
        try:
            return await self._conn.read_chunk(self._read_timeout)
        except ReadTimeout as exc:
            raise UpstreamTimeout("the backend stopped sending its answer") from exc
        except TransportFailure as exc:
            raise UpstreamUnavailable(f"the backend broke off its answer: {exc}") from exc

    def close(self) -> None:
        """Give the connection back when the body was read whole, else drop it (idempotent)."""
        if not self._done:
            self._done = True
            self._pool.release(self._conn)


class UpstreamClient:
    """The process's pooled client; create in the app's startup, close in its shutdown."""

    def __init__(self, timeouts: Timeouts | None = None, *, max_connections: int = 0) -> None:
        self.timeouts = timeouts or Timeouts()
        self.pool = ConnectionPool(
            connect_timeout=self.timeouts.connect, max_connections=max_connections
        )
        self._origins: dict[str, Origin] = {}

    async def start(self) -> None:
        """Nothing to open ahead: connections are made on first use."""

    async def close(self) -> None:
        await self.pool.close()

    def _origin(self, url: str) -> Origin:
        origin = self._origins.get(url)
        if origin is None:
            try:
                origin = self._origins[url] = Origin.parse(url)
            except ValueError as exc:
                raise UpstreamUnavailable(str(exc)) from None
        return origin

    async def send(
        self,
        backend: BackendAddress,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> UpstreamResponse:
        """POST `body` to the backend; return when its headers arrive. Error statuses raise."""
        origin = self._origin(backend.url)
        head = _request_head(origin, path, len(body), headers, _auth_headers(backend))
        conn = await self._exchange(backend, origin, head, body)
        response = UpstreamResponse(conn, self.pool, self.timeouts.read)
        if conn.status >= 400:
            try:
                content = await asyncio.wait_for(response.read(ERROR_BODY_CAP), ERROR_BODY_WAIT_S)
            except (TimeoutError, UpstreamTimeout, UpstreamUnavailable):
                content = b""
            raise UpstreamStatus(
                f"{backend.url} answered {conn.status}", status=conn.status, body=content
            )
        return response

    async def _exchange(
        self, backend: BackendAddress, origin: Origin, head: bytes, body: bytes
    ) -> Connection:
        """Send the request and wait for the answer's head. A reused keep-alive connection that
        the backend closed before answering anything is replaced once by a new one."""
        for _ in range(2):
            conn = await self._connect(backend, origin)
            try:
                conn.send(head, body)
                await conn.read_head(self.timeouts.first_byte)
            except TransportFailure as exc:
                conn.close()
                if conn.reused and not conn.received_any:
                    continue
                raise UpstreamUnavailable(f"{backend.url} failed: {exc}") from exc
            except ReadTimeout as exc:
                conn.close()
                raise UpstreamTimeout(f"no answer from {backend.url} in time") from exc
            except BaseException:  # cancelled: the client left, or a hedge lost the race
                conn.close()
                raise
            return conn
        raise UpstreamUnavailable(f"{backend.url} closed two connections without answering")

    async def _connect(self, backend: BackendAddress, origin: Origin) -> Connection:
        try:
            return await self.pool.acquire(origin)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no connection to {backend.url} in time") from exc
        except (OSError, TransportFailure) as exc:
            raise UpstreamUnavailable(f"cannot reach {backend.url}: {exc}") from exc


def _request_head(
    origin: Origin,
    path: str,
    length: int,
    headers: Mapping[str, str],
    auth: Mapping[str, str],
) -> bytes:
    lines = [
        f"POST {origin.base_path}{path} HTTP/1.1",
        f"host: {origin.host_header}",
        f"user-agent: {USER_AGENT}",
        "content-type: application/json",
        f"content-length: {length}",
    ]
    for name, value in (*headers.items(), *auth.items()):
        if "\n" in name or "\r" in name or "\n" in value or "\r" in value:
            raise UpstreamUnavailable(f"the {name!r} header for the backend has a line break")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def _auth_headers(backend: BackendAddress) -> dict[str, str]:
    if not backend.api_key_env:
        return {}
    key = os.environ.get(backend.api_key_env, "")
    if not key:
        return {}
    if backend.protocol == "anthropic":
        return {"x-api-key": key}
    return {"authorization": f"Bearer {key}"}
