"""The plan as an HTML page with PNG charts (matplotlib, Agg; no pyplot global state).

Writes OUT_DIR/index.html, OUT_DIR/capacity-vs-demand.png (capacity against demand through the
day, at today's limits and at the sustainable ones, plus each what-if) and
OUT_DIR/limits-before-after.png (5-hour budgets per plan: offered, sustainable, after each what-if).
The tables are the terminal report's rich tables, exported to HTML.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console

from fleetgate.errors import ConfigurationError
from fleetgate.planner.plan import PlanResult
from fleetgate.planner.report_terminal import print_plan
from fleetgate.planner.whatif import Comparison

CAPACITY_CHART = "capacity-vs-demand.png"
LIMITS_CHART = "limits-before-after.png"


def write_report(
    out_dir: str | Path, result: PlanResult, comparisons: Sequence[Comparison]
) -> Path:
    """Write the report into `out_dir` (created if needed) and return the index.html path."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"--html {folder}: cannot create ({exc.strerror})") from exc
    capacity_chart(result, comparisons).savefig(folder / CAPACITY_CHART, dpi=110)
    limits_chart(result, comparisons).savefig(folder / LIMITS_CHART, dpi=110)
    console = Console(record=True, width=160, file=io.StringIO())
    print_plan(console, result, comparisons)
    tables = console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")
    page = _PAGE.format(
        title=html.escape("fleetgate capacity plan"),
        capacity=CAPACITY_CHART,
        limits=LIMITS_CHART,
        tables=tables,
    )
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def capacity_chart(result: PlanResult, comparisons: Sequence[Comparison]) -> Figure:
    """Subscription capacity against demand for each UTC hour."""
    figure = _figure(9.0, 4.8)
    axes = figure.add_subplot()
    hours = list(range(24))
    offer = result.subscriptions
    axes.step(
        hours,
        [c / 1e6 for c in offer.hourly_capacity],
        where="mid",
        color="black",
        label="capacity at the model mix (usable)",
    )
    axes.plot(
        hours,
        [d / 1e6 for d in offer.hourly_demand_offered],
        marker="o",
        label="demand at today's limits",
    )
    axes.plot(
        hours,
        [d / 1e6 for d in offer.hourly_demand_sustainable],
        linestyle="--",
        label="demand at sustainable limits",
    )
    for comparison in comparisons:
        after = comparison.after.subscriptions
        line = axes.plot(
            hours,
            [d / 1e6 for d in after.hourly_demand_offered],
            alpha=0.8,
            label=f"demand, {comparison.what_if.label}",
        )
        if after.capacity_tokens_per_s != offer.capacity_tokens_per_s:
            axes.step(
                hours,
                [c / 1e6 for c in after.hourly_capacity],
                where="mid",
                color=line[0].get_color(),
                linestyle=":",
                label=f"capacity, {comparison.what_if.label}",
            )
    axes.set_xlabel("hour of day (UTC)")
    axes.set_ylabel("output tokens/s (millions)")
    axes.set_title("Plan capacity against demand through the day")
    axes.set_xticks(range(0, 24, 2))
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure


def limits_chart(result: PlanResult, comparisons: Sequence[Comparison]) -> Figure:
    """5-hour budget per plan: offered, sustainable now and after each what-if (log scale).

    Unbounded budgets (the fleet serves uncapped demand) are drawn hatched at the top."""
    figure = _figure(9.0, 4.8)
    axes = figure.add_subplot()
    plans = result.subscriptions.plans
    series: list[tuple[str, list[float]]] = [
        ("offered today", [p.offered_five_hour for p in plans]),
        ("sustainable", [p.sustainable_five_hour for p in plans]),
    ]
    for comparison in comparisons:
        after = {p.plan_id: p for p in comparison.after.subscriptions.plans}
        series.append(
            (
                f"sustainable, {comparison.what_if.label}",
                [
                    after[p.plan_id].sustainable_five_hour if p.plan_id in after else 0.0
                    for p in plans
                ],
            )
        )
    finite = [v for _, values in series for v in values if math.isfinite(v) and v > 0]
    ceiling = max(finite, default=1.0) * 3.0
    width = 0.8 / len(series)
    for index, (label, values) in enumerate(series):
        positions = [i + (index - (len(series) - 1) / 2) * width for i in range(len(plans))]
        shown = [v if math.isfinite(v) else ceiling for v in values]
        bars = axes.bar(positions, shown, width=width, label=label)
        for bar, value in zip(bars, values, strict=True):
            if not math.isfinite(value):
                bar.set_hatch("//")
    axes.set_xticks(range(len(plans)), [p.name for p in plans], rotation=20)
    axes.set_yscale("log")
    axes.set_ylabel("5-hour budget (output tokens)")
    axes.set_title("5-hour limits before and after (hatched: unbounded, demand fits uncapped)")
    axes.set_ylim(top=ceiling * 1.5)
    axes.grid(alpha=0.3, axis="y")
    axes.legend(fontsize="small")
    return figure


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}}
img{{max-width:100%;border:1px solid #ddd;margin:0.5em 0}}</style></head>
<body><h1>{title}</h1>
<h2>Capacity against demand</h2><img src="{capacity}" alt="capacity against demand by hour">
<h2>Limits before and after</h2><img src="{limits}" alt="5-hour limits per plan">
<h2>Tables</h2>
{tables}
</body></html>
"""
