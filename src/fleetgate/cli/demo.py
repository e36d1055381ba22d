"""`fleetgate demo`: the whole gateway on embedded defaults, no external service needed."""

from __future__ import annotations

import asyncio

import typer

from fleetgate.cli.console import terminal_console


def demo() -> None:
    """Start three simulated sites and the gateway, send SDK traffic, print where it went."""
    from fleetgate.demo.run import outcome_table, run_demo

    console = terminal_console()
    outcomes, counted = asyncio.run(run_demo(console))
    console.print(outcome_table(outcomes))
    sites = sorted({item.site for item in outcomes})
    console.print(
        f"{len(outcomes)} requests served by {len(sites)} sites ({', '.join(sites)}); "
        f"count_tokens said {counted} input tokens. Everything shut down cleanly."
    )


def register(app: typer.Typer) -> None:
    """Add the `demo` command to `app`."""
    app.command("demo")(demo)
