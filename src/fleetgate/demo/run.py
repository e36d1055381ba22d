"""Running the demo: engines and gateway as uvicorn servers in one event loop, then the traffic.

Everything listens on free loopback ports and stops by itself; the key store lives in a temporary
directory that is removed afterwards. Nothing outside this process is needed.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.table import Table

from fleetgate.api.app import create_app
from fleetgate.api.server_protocol import GatewayHttpProtocol
from fleetgate.demo.embedded_fleet import DEMO_SITES, demo_settings
from fleetgate.demo.traffic import Outcome, scripted_mix
from fleetgate.engine.app import create_engine_app
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.timers import timer_from_options
from fleetgate.gateway.process import Gateway

STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server(app: Any, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http=GatewayHttpProtocol,
    )
    server = uvicorn.Server(config)
    return server


async def _start(servers: Sequence[uvicorn.Server]) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    while not all(server.started for server in servers):
        failed = [task for task in tasks if task.done()]
        if failed or asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("a demo server did not start")
        await asyncio.sleep(0.02)
    return tasks


async def _stop(servers: Sequence[uvicorn.Server], tasks: list[asyncio.Task[None]]) -> None:
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def _engine(model: str, decode_ms: float, port: int) -> uvicorn.Server:
    options = EngineOptions(
        port=port,
        models=(model,),
        output_tokens=24,
        decode_step_ms=decode_ms,
        prefill_tokens_per_s=50_000,
    )
    return _server(create_engine_app(options, timer_from_options(options)), port)


async def run_demo(console: Console) -> tuple[list[Outcome], int]:
    """Start the fleet and the gateway, send the scripted mix, stop everything."""
    engine_ports = [free_port() for _ in DEMO_SITES]
    gateway_port = free_port()
    with tempfile.TemporaryDirectory(prefix="fleetgate-demo-") as tmp:
        settings = demo_settings(engine_ports, gateway_port, str(Path(tmp) / "state.sqlite3"))
        engines = [
            _engine(model, decode_ms, port)
            for (_, _, _, _, _, model, decode_ms), port in zip(
                DEMO_SITES, engine_ports, strict=True
            )
        ]
        gateway = Gateway.build(settings)
        servers = [*engines, _server(create_app(settings, gateway=gateway), gateway_port)]
        console.print(
            f"[bold]fleetgate demo[/]: 3 simulated sites on ports {engine_ports}, "
            f"gateway on http://127.0.0.1:{gateway_port}"
        )
        tasks = await _start(servers)
        try:
            key = gateway.keys.create("demo", "demo key")
            console.print(f"tenant [cyan]demo[/] (plan max-5x) got key {key[:15]}…")
            return await scripted_mix(f"http://127.0.0.1:{gateway_port}", key)
        finally:
            await _stop(servers, tasks)


def outcome_table(outcomes: Sequence[Outcome]) -> Table:
    """Where each request went (site, pool, backend), how long it took and what it used."""
    table = Table(title="Demo requests through fleetgate")
    columns = (
        "#",
        "API",
        "kind",
        "model",
        "site",
        "pool / backend",
        "latency",
        "TTFT",
        "in",
        "out",
    )
    for column in (*columns, "stop"):
        numeric = column in {"#", "in", "out", "latency", "TTFT"}
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    for number, item in enumerate(outcomes, start=1):
        table.add_row(
            str(number),
            item.api,
            item.kind,
            item.model.removeprefix("claude-").removesuffix("-sim"),
            item.site,
            item.backend,
            f"{item.seconds * 1000:.0f} ms",
            "-" if item.ttft is None else f"{item.ttft * 1000:.0f} ms",
            str(item.input_tokens),
            str(item.output_tokens),
            item.stop,
        )
    return table
