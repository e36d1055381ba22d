"""`fleetgate plan FLEET --demand DEMAND`: the capacity planner's command line.

Parses options, loads the fleet and demand files, runs `make_plan` (and each `--what-if`), then
prints rich tables, JSON (`--json`) and/or writes the HTML report (`--html OUT_DIR`). Bad input
ends with one clear `error:` line naming the key path and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleetgate.cli.console import terminal_console
from fleetgate.errors import ConfigurationError
from fleetgate.planner.demand import load_demand
from fleetgate.planner.plan import PlanOptions, PlanResult, make_plan
from fleetgate.planner.report_json import report_data
from fleetgate.planner.report_terminal import print_plan
from fleetgate.planner.whatif import Comparison, compare, parse_what_if
from fleetgate.settings import load_settings

WHAT_IF_HELP = (
    "Repeatable: add-site=FILE[#SITE], remove-site=SITE, multiplier=PLAN:five_hour|weekly:X "
    "(PLAN may be all), no-peak."
)


def run_plan(
    fleet: Path,
    demand_path: Path,
    options: PlanOptions,
    what_ifs: list[str],
) -> tuple[PlanResult, list[Comparison], float]:
    """Load the inputs, plan them and every what-if; returns the planning time in seconds."""
    settings = load_settings(fleet)
    demand = load_demand(demand_path, settings.limits)
    parsed = [parse_what_if(text) for text in what_ifs]
    started = time.perf_counter()
    result = make_plan(settings, demand, options)
    elapsed = time.perf_counter() - started
    comparisons = [compare(settings, demand, options, what_if, result) for what_if in parsed]
    return result, comparisons, elapsed


def register(app: typer.Typer) -> None:
    """Add the `plan` command to `app`."""

    @app.command("plan")
    def plan(
        fleet: Annotated[Path, typer.Argument(help="Fleet file (sites, pools, models).")],
        demand: Annotated[Path, typer.Option("--demand", help="Demand file (plans, usage).")],
        slo_tpot_ms: Annotated[
            float | None, typer.Option(help="Time per output token target (ms).")
        ] = None,
        slo_ttft_ms: Annotated[
            float | None, typer.Option(help="Time to first token target (ms).")
        ] = None,
        refusal_target: Annotated[
            float | None, typer.Option(help="Share of demand the fleet may refuse (0-0.5].")
        ] = None,
        lose_largest_site: Annotated[
            bool, typer.Option(help="Plan as if the largest site were down (N-1).")
        ] = False,
        what_if: Annotated[list[str] | None, typer.Option(help=WHAT_IF_HELP)] = None,
        html: Annotated[Path | None, typer.Option(help="Write an HTML report here.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
    ) -> None:
        """Turn GPUs and megawatts into the plan and tier limits the fleet can offer."""
        console = terminal_console()
        options = PlanOptions(
            tpot_ms=slo_tpot_ms,
            ttft_ms=slo_ttft_ms,
            refusal_target=refusal_target,
            lose_largest_site=lose_largest_site,
        )
        try:
            result, comparisons, elapsed = run_plan(fleet, demand, options, what_if or [])
            if html is not None:
                from fleetgate.planner.report_html import write_report

                index = write_report(html, result, comparisons)
        except ConfigurationError as exc:
            Console(stderr=True).print(f"[bold red]error:[/] {exc.message}", highlight=False)
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(json.dumps(report_data(result, comparisons, elapsed), indent=2))
            return
        print_plan(console, result, comparisons)
        console.print(f"planned {result.capacity.gpus:,} GPUs in {elapsed:.3f} s")
        if html is not None:
            console.print(f"HTML report: {index}")
