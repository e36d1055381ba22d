"""Limits commands: `fleetgate limits show` and `fleetgate limits multiplier set|list`.

Multipliers are written to the limits store named by ``limits.store``; every gateway replica
sharing that store applies them from its next request, no restart. With the embedded
``memory://`` store the state lives inside the gateway process, so the command refuses and
points to the gateway's admin API (`--url`, through `admin_client`) instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetgate.cli.admin_client import KeyOption, admin_call
from fleetgate.cli.config_option import ConfigOption
from fleetgate.cli.console import terminal_console
from fleetgate.errors import ConfigurationError, InvalidRequest
from fleetgate.limits.catalog import LimitsCatalog
from fleetgate.limits.stores.guard import GuardedLimiter, open_limiter
from fleetgate.settings import Settings, load_settings


def parse_factor(text: str) -> float:
    """``2``, ``2.5``, ``x2`` or ``×2`` -> the factor; anything else is a usage error."""
    cleaned = text.strip().lower().removeprefix("x").removeprefix("×").strip()
    try:
        return float(cleaned)
    except ValueError as exc:
        raise typer.BadParameter(f"expected a factor such as 2 or x2, got {text!r}") from exc


def _limiter(settings: Settings) -> GuardedLimiter:
    """The gateway's own limiter over the shared store the fleet file names."""
    if settings.limits.store.startswith("memory"):
        raise ConfigurationError(
            "limits.store: memory:// lives inside the gateway process; pass --url (and "
            "--admin-key) to go through the running gateway's admin API, or use redis://..."
        )
    return open_limiter(settings.limits, settings.tenants)


async def _set(settings: Settings, plan: str, window: str, factor: float) -> dict[str, float]:
    limiter = _limiter(settings)
    try:
        await limiter.set_multiplier(plan, window, factor)
        return await limiter.get_multipliers()
    finally:
        await limiter.close()


async def _list(settings: Settings) -> dict[str, float]:
    limiter = _limiter(settings)
    try:
        return await limiter.get_multipliers()
    finally:
        await limiter.close()


def _print_multipliers(found: dict[str, float]) -> None:
    console = terminal_console()
    if not found:
        console.print("no live multipliers (every window at 1x)")
        return
    table = Table("plan", "window", "factor")
    for name, factor in found.items():
        plan, _, window = name.partition(":")
        table.add_row(plan, window, f"x{factor:g}")
    console.print(table)


GatewayUrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="A running gateway's base URL: go through its admin API (works with memory://).",
    ),
]


def multiplier_set(
    plan: Annotated[str, typer.Argument(help="Plan name, e.g. max-5x.")],
    window: Annotated[str, typer.Argument(help="five_hour, seven_day or seven_day_<family>.")],
    factor: Annotated[str, typer.Argument(help="Factor such as 2 or x2; 1 removes it.")],
    config: ConfigOption = Path("fleet.yaml"),
    url: GatewayUrlOption = None,
    admin_key: KeyOption = None,
) -> None:
    """Scale one plan window on every replica from the next request (e.g. five_hour x2)."""
    if url is not None:
        body = {"plan": plan, "window": window, "factor": parse_factor(factor)}
        answer = admin_call("POST", url, "/admin/limits/multipliers", admin_key, body)
        _print_multipliers(answer["multipliers"])
        return
    settings = load_settings(config)
    try:
        found = asyncio.run(_set(settings, plan, window, parse_factor(factor)))
    except InvalidRequest as exc:
        raise typer.BadParameter(exc.message) from exc
    _print_multipliers(found)


def multiplier_list(
    config: ConfigOption = Path("fleet.yaml"),
    url: GatewayUrlOption = None,
    admin_key: KeyOption = None,
) -> None:
    """Show the live multipliers (shared store, or a running gateway with --url)."""
    if url is not None:
        answer = admin_call("GET", url, "/admin/limits/multipliers", admin_key)
        _print_multipliers(answer["multipliers"])
        return
    _print_multipliers(asyncio.run(_list(load_settings(config))))


def show(config: ConfigOption = Path("fleet.yaml")) -> None:
    """Show the plans and tiers in effect (shipped profiles overlaid with the fleet file)."""
    settings = load_settings(config)
    catalog = LimitsCatalog.from_settings(settings.limits)
    console = terminal_console()
    plans = Table(
        "plan",
        "five_hour units",
        "seven_day units",
        "weekly sub-limits",
        "peak",
        "extra usage",
        title=f"plans ({settings.limits.profile})",
    )
    for name, plan in catalog.plans.items():
        shares = ", ".join(f"{f} {s:.0%}" for f, s in plan.family_weekly.items()) or "-"
        extra = f"{plan.extra_usage_monthly_units:,.0f}" if plan.extra_usage_monthly_units else "-"
        plans.add_row(
            name,
            f"{plan.five_hour:,.0f}",
            f"{plan.seven_day:,.0f}",
            shares,
            "on" if plan.peak_metering else "off",
            extra,
        )
    console.print(plans)
    tiers = Table("tier", "family", "RPM", "ITPM", "OTPM", "count_tokens RPM", title="tiers")
    for name, tier in catalog.tiers.items():
        for family, row in tier.families.items():
            counted = str(tier.count_tokens_rpm or "-")
            tiers.add_row(
                name,
                family + (" †" if row.cache_reads_count else ""),
                f"{row.rpm:,}",
                f"{row.itpm:,}",
                f"{row.otpm:,}",
                counted,
            )
    console.print(tiers)


def register(app: typer.Typer) -> None:
    """Add `limits show` and `limits multiplier set|list` to `app`."""
    limits_app = typer.Typer(help="Plan and tier limits.", no_args_is_help=True)
    multiplier_app = typer.Typer(help="Live plan-window multipliers.", no_args_is_help=True)
    multiplier_app.command("set")(multiplier_set)
    multiplier_app.command("list")(multiplier_list)
    limits_app.command("show")(show)
    limits_app.add_typer(multiplier_app, name="multiplier")
    app.add_typer(limits_app, name="limits")
