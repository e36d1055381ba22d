"""Keep-alive connections to backends, per origin: reuse, idle expiry and an optional cap.

The most recently used idle connection is handed out first (its socket and its backend's worker
are the warmest). An idle connection closes after `idle_s`; one the backend closed is dropped as
soon as that is seen. With `max_connections`, callers wait for a free slot, and an idle
connection to another origin is closed to make room.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

from fleetgate.upstream.http11 import Connection, Origin, TransportFailure


class ConnectionPool:
    """Every connection one gateway process holds to its backends."""

    def __init__(
        self, *, connect_timeout: float, idle_s: float = 60.0, max_connections: int = 0
    ) -> None:
        self.connect_timeout = connect_timeout
        self.idle_s = idle_s
        self.max_connections = max_connections
        self._idle: dict[Origin, list[tuple[Connection, asyncio.TimerHandle]]] = {}
        self._open: set[Connection] = set()
        self._connecting = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._tls: ssl.SSLContext | None = None

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or carrying a request."""
        return len(self._open)

    async def acquire(self, origin: Origin) -> Connection:
        """An idle connection to `origin`, or a new one."""
        while True:
            reused = self._take_idle(origin)
            if reused is not None:
                return reused
            if self._has_room():
                return await self._connect(origin)
            await self._wait_for_slot()

    def release(self, conn: Connection) -> None:
        """Take back a connection whose answer was read whole, or drop it when it cannot be
        reused (then its `connection_lost` frees the slot)."""
        if not conn.reusable:
            conn.close()
            return
        timer = asyncio.get_running_loop().call_later(self.idle_s, conn.close)
        self._idle.setdefault(conn.origin, []).append((conn, timer))
        self._wake_one()

    async def close(self) -> None:
        """Close every connection (the process is stopping)."""
        for idle in self._idle.values():
            for _, timer in idle:
                timer.cancel()
        self._idle.clear()
        for conn in list(self._open):
            conn.close()
        await asyncio.sleep(0)  # let the transports finish closing

    # ------------------------------------------------------------------ internals

    def _take_idle(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn, timer = idle.pop()
            timer.cancel()
            if not conn.closed:
                conn.reused = True
                return conn
        return None

    def _has_room(self) -> bool:
        if not self.max_connections:
            return True
        if len(self._open) + self._connecting < self.max_connections:
            return True
        for origin, idle in self._idle.items():  # make room: drop an idle one elsewhere
            if idle:
                conn, timer = idle.pop(0)
                timer.cancel()
                conn.close()
                self._open.discard(conn)
                if not idle:
                    del self._idle[origin]
                return True
        return False

    async def _wait_for_slot(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._slot_waiters:
                self._slot_waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self, origin: Origin) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if origin.tls else None
        self._connecting += 1
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(origin),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                ),
                self.connect_timeout,
            )
        except BaseException:
            self._wake_one()
            raise
        finally:
            self._connecting -= 1
        if conn.closed:  # closed between the handshake and now
            raise TransportFailure("the backend closed the connection at once")
        conn.on_lost = self._lost
        self._open.add(conn)
        return conn

    def _lost(self, conn: Connection) -> None:
        self._open.discard(conn)
        idle = self._idle.get(conn.origin)
        if idle:
            for index, (held, timer) in enumerate(idle):
                if held is conn:
                    timer.cancel()
                    del idle[index]
                    break
        self._wake_one()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls
