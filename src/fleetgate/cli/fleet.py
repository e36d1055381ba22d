"""The `fleetgate fleet` commands: drain, undrain, status and availability of a running gateway,
through its admin API (`admin_client`).

    fleetgate fleet drain   --site memphis  --url http://127.0.0.1:8080 --admin-key ...
    fleetgate fleet undrain --pool memphis-h100
    fleetgate fleet status
    fleetgate fleet availability --scope site

The admin key comes from `--admin-key` or the FLEETGATE_ADMIN_KEY environment variable. Errors
(gateway unreachable, refused key, unknown backend) print one line and exit with status 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from fleetgate.cli.admin_client import DEFAULT_URL, KeyOption, UrlOption, admin_call, fail
from fleetgate.cli.console import terminal_console

fleet_app = typer.Typer(help="Drain, undrain and inspect the fleet of a running gateway.")


def _target(backend: str | None, pool: str | None, site: str | None) -> dict[str, str]:
    named = {k: v for k, v in (("backend", backend), ("pool", pool), ("site", site)) if v}
    if len(named) != 1:
        raise fail("name exactly one of --backend, --pool or --site")
    return named


BackendOpt = Annotated[str | None, typer.Option("--backend", help="A backend id.")]
PoolOpt = Annotated[str | None, typer.Option("--pool", help="A pool id.")]
SiteOpt = Annotated[str | None, typer.Option("--site", help="A site id.")]


def _drain_command(action: str) -> Any:
    def command(
        backend: BackendOpt = None,
        pool: PoolOpt = None,
        site: SiteOpt = None,
        url: UrlOption = DEFAULT_URL,
        admin_key: KeyOption = None,
    ) -> None:
        answer = admin_call(
            "POST", url, f"/admin/fleet/{action}", admin_key, _target(backend, pool, site)
        )
        count = len(answer["backends"])
        typer.echo(
            f"{action}ed {answer['scope']} {answer['id']}: {count} backend(s) "
            f"({', '.join(answer['backends'])}); {answer['in_flight']} request(s) in flight"
        )

    command.__doc__ = (
        "Stop routing new requests to a backend, pool or site (in-flight ones finish)."
        if action == "drain"
        else "Route to a drained backend, pool or site again."
    )
    return command


@fleet_app.command("status")
def status(url: UrlOption = DEFAULT_URL, admin_key: KeyOption = None) -> None:
    """Every backend's load, health and drain state."""
    snapshot = admin_call("GET", url, "/admin/fleet", admin_key)
    table = Table("backend", "site", "pool", "in flight", "breaker", "probe", "drain", "routable")
    for row in snapshot["backends"]:
        table.add_row(
            row["id"],
            row["site"],
            row["pool"],
            str(row["in_flight"]),
            row["breaker"]["state"],
            "ok" if row["probe_ok"] else "failing",
            row["drain"],
            "yes" if row["routable"] else "no",
        )
    terminal_console().print(table)


@fleet_app.command("availability")
def availability(
    scope: Annotated[str, typer.Option(help="backend, pool, site or end_to_end.")] = "site",
    url: UrlOption = DEFAULT_URL,
    admin_key: KeyOption = None,
) -> None:
    """Rolling success ratio, nines and error-budget burn against the SLO."""
    answer = admin_call("GET", url, f"/admin/fleet/availability?scope={scope}", admin_key)
    table = Table("scope", "id", "window", "attempts", "ratio", "nines", "burn")
    for item in answer["availability"]:
        ratio = item["ratio"]
        nines = "perfect" if item["perfect"] else _number(item["nines"], ".2f")
        table.add_row(
            item["scope"],
            item["id"],
            f"{item['window_s']:g} s",
            str(item["attempts"]),
            _number(ratio, ".5f"),
            nines,
            _number(item["burn_rate"], ".2f"),
        )
    terminal_console().print(f"SLO {answer['slo']}")
    terminal_console().print(table)


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


fleet_app.command("drain")(_drain_command("drain"))
fleet_app.command("undrain")(_drain_command("undrain"))


def register(app: typer.Typer) -> None:
    """Add the `fleet` command group."""
    app.add_typer(fleet_app, name="fleet")
