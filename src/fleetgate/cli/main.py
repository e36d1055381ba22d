"""The `fleetgate` application: one typer app with every command group registered, and `main`,
the console script's entry point (configuration errors print one `error:` line, exit status 2).

This file is the table of contents: each group lives in its own module of this package and adds
itself with `register(app)`. The groups are imported in `build_app`, not at the top: uvicorn's
worker processes (`serve --workers N`) re-import the console script, hence this module, and each
worker would otherwise load every command group (about 0.1-0.4 s more per worker start).
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from fleetgate.errors import ConfigurationError


def build_app() -> typer.Typer:
    """A fresh Typer application with every command group, in the order `--help` lists them."""
    from fleetgate.cli import demo, engine, fleet, keys, limits, perfmodel, plan, serve, simulate

    app = typer.Typer(
        name="fleetgate",
        help="Turns GPU capacity into usage limits: gateway, router, planner, simulator.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    serve.register(app)
    keys.register(app)
    demo.register(app)
    engine.register(app)
    perfmodel.register(app)
    plan.register(app)
    limits.register(app)
    fleet.register(app)
    simulate.register(app)
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
