"""`fleetgate serve`: wire the API and the gateway together for a fleet file and run them under
uvicorn (one process, or several workers sharing state through Redis)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from fleetgate.cli.config_option import ConfigOption
from fleetgate.errors import ConfigurationError
from fleetgate.settings import Settings, load_settings


def serve(
    config: ConfigOption = Path("fleet.yaml"),
    host: Annotated[str | None, typer.Option(help="Listen address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: settings).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (share state via Redis).")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the gateway in front of the fleet described by CONFIG."""
    import uvicorn

    settings = load_settings(config)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    server = settings.server
    if workers > 1 and settings.limits.store.startswith("memory"):
        raise ConfigurationError(
            "limits.store: several workers need a shared store (redis://...), not memory://"
        )
    if workers == 1:
        _run_single(settings, host or server.host, port or server.port, log_level)
        return
    from fleetgate.api.server_protocol import GatewayHttpProtocol

    os.environ["FLEETGATE_CONFIG"] = str(config.resolve())
    uvicorn.run(
        "fleetgate.cli.serve:app_from_env",
        factory=True,
        http=GatewayHttpProtocol,
        host=host or server.host,
        port=port or server.port,
        workers=workers,
        log_level=log_level,
        access_log=server.access_log,
        timeout_graceful_shutdown=30,
    )


def _run_single(settings: Settings, host: str, port: int, log_level: str) -> None:
    import uvicorn

    from fleetgate.api.app import create_app
    from fleetgate.api.server_protocol import GatewayHttpProtocol

    uvicorn.run(
        create_app(settings),
        http=GatewayHttpProtocol,
        host=host,
        port=port,
        log_level=log_level,
        access_log=settings.server.access_log,
        timeout_graceful_shutdown=30,
    )


def app_from_env() -> object:
    """App factory for multi-worker serving: the fleet file path comes from the environment."""
    from fleetgate.api.app import create_app

    return create_app(load_settings(os.environ["FLEETGATE_CONFIG"]))


def register(app: typer.Typer) -> None:
    """Add the `serve` command to `app`."""
    app.command("serve")(serve)
