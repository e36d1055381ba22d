"""Gateway commands: `fleetgate serve` and `fleetgate keys create|list|revoke`."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetgate.console import terminal_console
from fleetgate.errors import ConfigurationError
from fleetgate.settings import Settings, load_settings
from fleetgate.state.keys import KeyStore

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The fleet file (fleet.yaml).", show_default=True)
]
StateOption = Annotated[
    str | None, typer.Option("--state", help="The key store (default: server.state_path).")
]


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
        "fleetgate.gateway.command:app_from_env",
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


def _store(config: Path, state: str | None) -> KeyStore:
    if state is not None:
        return KeyStore(state)
    return KeyStore(load_settings(config).server.state_path)


keys_app = typer.Typer(help="Tenant API keys (stored hashed; shown once at creation).")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant the key belongs to.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    config: ConfigOption = Path("fleet.yaml"),
    state: StateOption = None,
) -> None:
    """Create a key for TENANT and print it once."""
    if state is None:
        settings = load_settings(config)
        if settings.tenant(tenant) is None:
            known = ", ".join(t.id for t in settings.tenants) or "none"
            raise ConfigurationError(f"tenant {tenant!r} is not in {config} (known: {known})")
    store = _store(config, state)
    key = store.create(tenant, name)
    store.close()
    typer.echo(key)


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    config: ConfigOption = Path("fleet.yaml"),
    state: StateOption = None,
) -> None:
    """List keys (ids and tenants, never the keys themselves)."""
    store = _store(config, state)
    table = Table("key id", "tenant", "name", "created", "status")
    for record in store.list(tenant):
        created = dt.datetime.fromtimestamp(record.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            record.key_id,
            record.tenant,
            record.name,
            created,
            "active" if record.active else "revoked",
        )
    store.close()
    terminal_console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after 'fg-').")],
    config: ConfigOption = Path("fleet.yaml"),
    state: StateOption = None,
) -> None:
    """Revoke a key; requests with it fail with 401 from then on."""
    store = _store(config, state)
    revoked = store.revoke(key_id)
    store.close()
    if not revoked:
        raise ConfigurationError(f"no active key with id {key_id!r}")
    typer.echo(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
