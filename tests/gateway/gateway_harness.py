"""A live fleet for tests: simulated engines and a gateway, each a real uvicorn server on loopback.

Servers run in threads with their own event loops, so tests talk to them over real HTTP with the
official SDKs exactly as users do, and can stop an engine to simulate a killed backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from conftest import free_port
from fleetgate.api.app import create_app
from fleetgate.api.server_protocol import GatewayHttpProtocol
from fleetgate.engine.app import create_engine_app
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.timers import timer_from_options
from fleetgate.gateway.process import Gateway
from fleetgate.settings import Settings, settings_from_mapping


class ServerThread:
    """One uvicorn server in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
            http=GatewayHttpProtocol,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class LiveFleet:
    """A running gateway and its engines."""

    url: str
    key: str
    gateway: Gateway
    settings: Settings
    engines: list[ServerThread]
    engine_apps: list[Any]
    servers: list[ServerThread] = field(default_factory=list)

    def engine_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.engines[index].port}"


def fleet_mapping(engine_ports: list[int], gateway_port: int, state: Path) -> dict[str, Any]:
    """Three sites serving claude-sonnet-sim (two of them) and claude-haiku-sim."""
    sites = []
    for index, port in enumerate(engine_ports):
        model = "claude-haiku-sim" if index == 2 else "claude-sonnet-sim"
        sites.append(
            {
                "id": f"site-{index}",
                "provider": f"provider-{index}",
                "owner": "competitor" if index == 1 else f"owner-{index}",
                "location": "test-us",
                "power_mw": 10,
                "pools": [
                    {
                        "id": f"pool-{index}",
                        "gpu": "h100-sxm",
                        "gpus": 8,
                        "model": model,
                        "backends": [{"url": f"http://127.0.0.1:{port}", "protocol": "openai"}],
                    }
                ],
            }
        )
    return {
        "server": {"port": gateway_port, "state_path": str(state), "max_body_bytes": 2_000_000},
        "models": [
            {"id": "claude-sonnet-sim", "family": "sonnet"},
            {"id": "claude-haiku-sim", "family": "haiku"},
        ],
        "sites": sites,
        "tenants": [{"id": "t1"}, {"id": "t2"}],
    }


@contextmanager
def live_fleet(
    tmp_path: Path,
    *,
    engine_options: dict[str, Any] | None = None,
    mapping_hook: Any = None,
    tenant: str = "t1",
) -> Iterator[LiveFleet]:
    """Start three engines and a gateway; stop them all afterwards."""
    ports = [free_port() for _ in range(3)]
    gateway_port = free_port()
    mapping = fleet_mapping(ports, gateway_port, tmp_path / "state.sqlite3")
    if mapping_hook is not None:
        mapping = mapping_hook(mapping)
    settings = settings_from_mapping(mapping)
    options_extra = {
        "decode_step_ms": 1.0,
        "prefill_tokens_per_s": 1_000_000.0,
        "output_tokens": 12,
    }
    options_extra.update(engine_options or {})
    engine_apps = []
    engines = []
    for index, port in enumerate(ports):
        model = "claude-haiku-sim" if index == 2 else "claude-sonnet-sim"
        options = EngineOptions(port=port, models=(model,), **options_extra)
        app = create_engine_app(options, timer_from_options(options))
        engine_apps.append(app)
        engines.append(ServerThread(app, port).start())
    gateway = Gateway.build(settings)
    key = gateway.keys.create(tenant)
    gateway_server = ServerThread(create_app(settings, gateway=gateway), gateway_port).start()
    fleet = LiveFleet(
        f"http://127.0.0.1:{gateway_port}",
        key,
        gateway,
        settings,
        engines,
        engine_apps,
        [gateway_server, *engines],
    )
    try:
        yield fleet
    finally:
        for server in fleet.servers:
            server.stop()
