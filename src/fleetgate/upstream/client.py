"""One pooled HTTP client per gateway process for talking to backends.

Owns connection pooling, timeouts, auth headers per backend protocol, and the translation of
transport failures into fleetgate's exception tree (`UpstreamUnavailable`, `UpstreamTimeout`,
`UpstreamStatus`). Responses are streamed: `send` returns once the status line and headers arrive,
and the caller iterates the body chunk by chunk; `UpstreamResponse.close` is safe on every path.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

from fleetgate.errors import UpstreamStatus, UpstreamTimeout, UpstreamUnavailable

ERROR_BODY_CAP = 64 * 1024
"""How much of an upstream error body is kept for the log and the error message."""


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
    """Seconds allowed to connect, to get the response headers, and between two body reads.

    aiohttp applies one per-read timeout to a request, so the wait for the headers and each body
    read are bounded by the larger of `first_byte` and `read`.
    """

    connect: float = 5.0
    first_byte: float = 600.0
    read: float = 600.0


class UpstreamResponse:
    """A backend's answer whose body has not been read yet."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        """The whole body (for non-streaming answers)."""
        try:
            return await self._response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout("the backend stopped sending its answer") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"the backend connection failed: {exc}") from exc
        finally:
            self.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, chunk by chunk; raises Upstream* errors on failure."""
        content = self._response.content
        try:
            while True:
                try:
                    chunk = await content.readany()
                except TimeoutError as exc:
                    raise UpstreamTimeout("the backend stopped streaming") from exc
                if not chunk:
                    if not content.is_eof():
                        continue
                    return
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamUnavailable(f"the backend broke the stream: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"the backend connection failed: {exc}") from exc
        finally:
            self.close()

    def close(self) -> None:
        """Give the connection back (or drop it when the body was not fully read)."""
        self._response.release() if self._response.content.is_eof() else self._response.close()


class UpstreamClient:
    """The process's pooled client; create in the app's startup, close in its shutdown."""

    def __init__(self, timeouts: Timeouts | None = None, *, max_connections: int = 0) -> None:
        self.timeouts = timeouts or Timeouts()
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[tuple[str, str], URL] = {}
        self._first_byte = aiohttp.ClientTimeout(
            total=None,
            connect=self.timeouts.connect,
            sock_read=max(self.timeouts.first_byte, self.timeouts.read),
        )

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, ttl_dns_cache=300, keepalive_timeout=60
            )
            timeout = aiohttp.ClientTimeout(
                total=None, connect=self.timeouts.connect, sock_read=self.timeouts.read
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # backends' cookies are never kept
            )

    def _url(self, base: str, path: str) -> URL:
        """Parsed once per backend and path: URL parsing is a visible share of a proxied call."""
        key = (base, path)
        url = self._urls.get(key)
        if url is None:
            url = self._urls[key] = URL(base + path)
        return url

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        backend: BackendAddress,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> UpstreamResponse:
        """POST `body` to the backend; return when its headers arrive. Error statuses raise."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        all_headers = {"content-type": "application/json", **headers, **_auth_headers(backend)}
        try:
            response = await self._session.post(
                self._url(backend.url, path),
                data=body,
                headers=all_headers,
                timeout=self._first_byte,
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no answer from {backend.url} in time") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"cannot reach {backend.url}: {exc}") from exc
        wrapped = UpstreamResponse(response)
        if response.status >= 400:
            try:
                content = await asyncio.wait_for(response.content.read(ERROR_BODY_CAP), 10)
            except (TimeoutError, aiohttp.ClientError):
                content = b""
            wrapped.close()
            raise UpstreamStatus(
                f"{backend.url} answered {response.status}", status=response.status, body=content
            )
        return wrapped


def _auth_headers(backend: BackendAddress) -> dict[str, str]:
    if not backend.api_key_env:
        return {}
    key = os.environ.get(backend.api_key_env, "")
    if not key:
        return {}
    if backend.protocol == "anthropic":
        return {"x-api-key": key}
    return {"authorization": f"Bearer {key}"}
