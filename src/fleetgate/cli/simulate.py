"""The `fleetgate simulate` command: one scenario, a what-if comparison, or a sweep.

    fleetgate simulate SCENARIO [--out DIR] [--seed N]
    fleetgate simulate --compare A B [--out DIR]
    fleetgate simulate SCENARIO --sweep PATH=V1,V2 [--workers N] [--ray ADDRESS]

A single run shows a progress bar (simulated time, events per second) and prints the headline
figures; `--out` writes JSON, CSV and PNG files (see `fleetgate.sim.report`).
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fleetgate.errors import ConfigurationError
from fleetgate.sim.report import compare_rows, headline, write_result
from fleetgate.sim.sweep import parse_sweep, run_file, run_many


def register(app: typer.Typer) -> None:
    """Add the `simulate` command to the fleetgate CLI."""
    app.command(name="simulate")(simulate_command)


def simulate_command(
    scenario: Annotated[str | None, typer.Argument(help="Scenario YAML file.")] = None,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Run two scenarios (A B) and print their differences side by side."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for JSON, CSV and PNG output.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(help="PATH=V1,V2: run every combination (repeat for more axes)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Local processes for a sweep or compare.")] = 1,
    ray: Annotated[str | None, typer.Option(help="Ray cluster address for a sweep.")] = None,
    charts: Annotated[bool, typer.Option(help="Write PNG charts with --out.")] = True,
) -> None:
    """Simulate a fleet under a workload and faults with the real limiter and router."""
    console = Console()
    if workers < 1:
        raise ConfigurationError(f"--workers: expected a positive integer, got {workers}")
    if compare is not None:
        _compare(console, compare, seed, out, workers)
        return
    if scenario is None:
        raise ConfigurationError("simulate: give a SCENARIO file, or --compare A B")
    if sweep:
        _sweep(console, scenario, sweep, seed, out, workers, ray)
        return
    result = _run_with_progress(console, scenario, seed)
    _print_summary(console, result)
    if out is not None:
        paths = write_result(result, out, charts)
        console.print(f"wrote {len(paths)} files to {out}")


def _run_with_progress(console: Console, scenario: str, seed: int | None) -> dict[str, Any]:
    started = time.perf_counter()
    columns = (
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        TextColumn("{task.fields[sim]} simulated"),
        TextColumn("{task.fields[rate]} events/s"),
        TextColumn("{task.fields[requests]} requests"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("run", total=1.0, sim="0s", rate="0", requests="0")

        def report(share: float, done_s: float, events: int, requests: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(
                task,
                completed=share,
                sim=_clock(done_s),
                rate=f"{events / elapsed:,.0f}",
                requests=f"{requests:,}",
            )

        result = run_file(scenario, seed=seed, progress=report)
        bar.update(task, completed=1.0)
    wall = time.perf_counter() - started
    result["run"]["wall_s"] = round(wall, 3)
    result["run"]["events_per_s"] = round(result["run"]["events"] / max(wall, 1e-9), 1)
    return result


def _clock(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _print_summary(console: Console, result: dict[str, Any]) -> None:
    run = result["run"]
    console.print(
        f"{run['requests_issued']:,} requests, {run['events']:,} events in "
        f"{run.get('wall_s', 0):.1f} s ({run.get('events_per_s', 0):,.0f} events/s)"
    )
    table = Table(title="per plan / tier")
    for column in (
        "plan",
        "requests",
        "done",
        "429",
        "529",
        "no pool",
        "errors",
        "TTFT p50/p99 ms",
        "TPOT p50/p99 ms",
        "goodput",
        "nines",
    ):
        table.add_column(column, justify="right")
    rows = [*result["by_plan"].items(), ("(total)", result["total"])]
    for name, row in rows:
        table.add_row(
            name,
            f"{row['requests']:,}",
            f"{row['completed']:,}",
            f"{row['refused']:,}",
            f"{row['overloaded']:,}",
            f"{row['unplaceable']:,}",
            f"{row['failed']:,}",
            f"{row['ttft_ms']['p50']:.0f} / {row['ttft_ms']['p99']:.0f}",
            f"{row['tpot_ms']['p50']:.1f} / {row['tpot_ms']['p99']:.1f}",
            f"{row['goodput_share']:.1%}",
            f"{row['nines']:.2f}",
        )
    console.print(table)
    sites = Table(title="per site")
    for column in ("site", "GPUs", "utilization", "output tokens", "energy MWh"):
        sites.add_column(column, justify="right")
    for name, row in result["sites"].items():
        sites.add_row(
            name,
            f"{row['gpus']:,}",
            f"{row['utilization']:.1%}",
            f"{row['output_tokens']:,}",
            f"{row['energy_mwh']:.3f}",
        )
    console.print(sites)


def _compare(
    console: Console, pair: tuple[str, str], seed: int | None, out: Path | None, workers: int
) -> None:
    first, second = pair
    if workers > 1:
        with ProcessPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(run_file, (first, second), (None, None), (seed, seed)))
    else:
        results = [run_file(first, seed=seed), run_file(second, seed=seed)]
    table = Table(title="what-if: A vs B")
    for column in ("figure", "A", "B", "B - A", "change"):
        table.add_column(column, justify="right")
    for name, a, b in compare_rows(results[0], results[1]):
        change = f"{(b - a) / abs(a):+.1%}" if a else ("" if b == a else "new")
        table.add_row(name, f"{a:,.4g}", f"{b:,.4g}", f"{b - a:+,.4g}", change)
    console.print(f"A = {first}\nB = {second}")
    console.print(table)
    if out is not None:
        write_result(results[0], out / "A", charts=False)
        write_result(results[1], out / "B", charts=False)
        console.print(f"wrote A and B results to {out}")


def _sweep(
    console: Console,
    scenario: str,
    options: list[str],
    seed: int | None,
    out: Path | None,
    workers: int,
    ray: str | None,
) -> None:
    combos = parse_sweep(options)
    console.print(
        f"sweep: {len(combos)} runs over {'Ray ' + ray if ray else f'{workers} processes'}"
    )
    results = run_many(scenario, combos, seed, workers, ray)
    table = Table(title="sweep")
    keys = list(combos[0])
    figures = (
        "requests",
        "refused",
        "overloaded",
        "ttft_ms_p99",
        "goodput_share",
        "availability_nines",
    )
    for column in (*keys, *figures):
        table.add_column(column, justify="right")
    rows = []
    for combo, result in zip(combos, results, strict=True):
        head = headline(result)
        rows.append({**combo, **{f: head[f] for f in figures}})
        table.add_row(*(str(combo[k]) for k in keys), *(f"{head[f]:,.4g}" for f in figures))
    console.print(table)
    if out is not None:
        import csv

        out.mkdir(parents=True, exist_ok=True)
        with (out / "sweep.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        for index, result in enumerate(results):
            write_result(result, out / f"run-{index}", charts=False)
        console.print(f"wrote {out / 'sweep.csv'} and {len(results)} run folders")
