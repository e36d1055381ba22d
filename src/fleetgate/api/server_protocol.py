"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol, with each response head
written together with the body bytes that follow it in the same loop iteration.

uvicorn writes a response head and each body part with separate `transport.write` calls: two
system calls per answer, and on a stream two wake-ups of the client before it sees its first
token. Here a final response head is held until the next write (the body bytes behind it) or
the end of the current loop iteration, whichever comes first, so it never waits for anything
but the code that is already running. Interim answers (`100 Continue`) leave at once.

`GatewayHttpProtocol` is what every gateway server passes to uvicorn as its `http` protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_START = b"HTTP/1.1 "
_INTERIM = b"HTTP/1.1 1"
_HEAD_END = b"\r\n\r\n"


def _is_final_head(data: bytes | bytearray | memoryview) -> bool:
    return data[:9] == _HEAD_START and data[:10] != _INTERIM and data[-4:] == _HEAD_END


class CoalescingTransport:
    """A transport whose response-head writes wait for the body bytes written right after."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send `data`, after a held head; hold `data` itself when it is a final head."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif _is_final_head(data):
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send a held head now (nothing followed it in its loop iteration)."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not `asyncio.Transport` subclasses, but have its methods
        wrapped = CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(Any, wrapped))
