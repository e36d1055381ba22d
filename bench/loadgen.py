"""A small, fast HTTP/1.1 load generator for the benchmarks (keep-alive, loopback only).

Two shapes of load: closed loop (N workers send back to back for a duration: throughput) and open
loop (requests started at a fixed rate whatever the answers do: latency at a given load). Each
request records its total latency and its time to the first body byte (the time to first token
for streams, where the server flushes the first event as soon as it has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"


@dataclass(slots=True)
class Sample:
    """One request's outcome."""

    status: int
    latency: float
    first_byte: float


@dataclass(slots=True)
class Run:
    """All samples of one load run."""

    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def throughput(self) -> float:
        return len(self.ok) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, *, first_byte: bool = False) -> float:
        values = sorted(s.first_byte if first_byte else s.latency for s in self.ok)
        if not values:
            return float("nan")
        rank = min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))
        return values[rank]


class Connection:
    """One keep-alive connection that sends requests and reads whole answers."""

    def __init__(self, port: int, request: bytes) -> None:
        self.port = port
        self.request = request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(LOOPBACK, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None

    async def send(self) -> Sample:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        started = time.perf_counter()
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = head.lower()
        first_byte = 0.0
        if b"transfer-encoding: chunked" in headers:
            first_byte = await self._read_chunked(started)
        else:
            length = _content_length(headers)
            if length:
                await self.reader.readexactly(length)
            first_byte = time.perf_counter() - started
        latency = time.perf_counter() - started
        if b"connection: close" in headers:
            await self.close()
        return Sample(status, latency, first_byte)

    async def _read_chunked(self, started: float) -> float:
        assert self.reader is not None
        first_byte = 0.0
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return first_byte
            await self.reader.readexactly(size + 2)
            if not first_byte:
                first_byte = time.perf_counter() - started


def _content_length(headers: bytes) -> int:
    marker = b"content-length:"
    at = headers.find(marker)
    if at < 0:
        return 0
    end = headers.find(b"\r\n", at)
    return int(headers[at + len(marker) : end].strip())


def build_request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"host: {LOOPBACK}:{port}", f"content-length: {len(body)}"]
    lines += ["content-type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def closed_loop(port: int, request: bytes, *, workers: int, seconds: float) -> Run:
    """`workers` connections sending back to back for `seconds`."""
    run = Run()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        connection = Connection(port, request)
        try:
            while time.perf_counter() < deadline:
                try:
                    run.samples.append(await connection.send())
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    run.errors += 1
                    await connection.close()
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    run.seconds = time.perf_counter() - started
    return run


async def open_loop(port: int, request: bytes, *, rate: float, seconds: float) -> Run:
    """Requests started every 1/`rate` seconds for `seconds`, each on a free connection."""
    run = Run()
    idle: list[Connection] = []
    pending: set[asyncio.Task[None]] = set()

    async def one() -> None:
        connection = idle.pop() if idle else Connection(port, request)
        try:
            run.samples.append(await connection.send())
            idle.append(connection)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            run.errors += 1
            await connection.close()

    started = time.perf_counter()
    total = int(rate * seconds)
    for index in range(total):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    run.seconds = time.perf_counter() - started
    for connection in idle:
        await connection.close()
    return run
