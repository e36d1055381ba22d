"""`fleetgate keys create|list|revoke`: tenant API keys in the key store (stored hashed, shown
once at creation)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetgate.cli.config_option import ConfigOption
from fleetgate.cli.console import terminal_console
from fleetgate.errors import ConfigurationError
from fleetgate.keys.keystore import KeyStore
from fleetgate.settings import load_settings

StateOption = Annotated[
    str | None, typer.Option("--state", help="The key store (default: server.state_path).")
]


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
        state = settings.server.state_path
    store = KeyStore(state)
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
    """Add the `keys` command group to `app`."""
    app.add_typer(keys_app, name="keys")
