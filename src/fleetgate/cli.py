"""The `fleetgate` command line: parse options, build settings, call one function per command.

Each area registers its own commands (`register(app)` in its `command` module) so this file stays
a table of contents: serve, demo, engine, keys, plan, simulate, and the admin helpers.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from fleetgate.errors import ConfigurationError

COMMAND_MODULES: tuple[str, ...] = (
    "fleetgate.gateway.command",
    "fleetgate.demo.command",
    "fleetgate.engine.command",
    "fleetgate.perfmodel.command",
    "fleetgate.planner.command",
    "fleetgate.limits.command",
    "fleetgate.routing.command",
    "fleetgate.sim.command",
)
"""Modules that each expose `register(app: typer.Typer) -> None`."""


def build_app() -> typer.Typer:
    """A fresh Typer application with every area's commands registered."""
    app = typer.Typer(
        name="fleetgate",
        help="Turns GPU capacity into usage limits: gateway, router, planner, simulator.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; configuration errors print one clear message."""
    app = build_app()
    try:
        app(args=argv, standalone_mode=False)
    except ConfigurationError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc.message}", highlight=False)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors carry their own exit code
        code = getattr(exc, "exit_code", None)
        show = getattr(exc, "show", None)
        if code is not None and callable(show):
            show()
            sys.exit(code)
        raise
