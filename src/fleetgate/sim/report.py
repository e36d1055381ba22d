"""Writing a run's result: JSON, CSV tables, PNG charts, and a what-if comparison.

Owns the files under `--out`: ``result.json`` (everything), ``by_plan.csv`` and ``by_site.csv``
(one row per plan or tier and per site), ``series.csv`` (the time series), ``latency.png`` and
``load.png``; and `compare_rows`, the side-by-side differences of two results. JSON is written
with sorted keys, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleetgate.errors import ConfigurationError

PLAN_COLUMNS = (
    "requests",
    "completed",
    "failed",
    "overloaded",
    "unplaceable",
    "refused",
    "invalid",
    "availability",
    "nines",
    "goodput_rps",
    "goodput_share",
    "throughput_output_tokens_per_s",
)
LATENCIES = ("ttft_ms", "tpot_ms", "e2e_ms")
PERCENTILES = ("p50", "p90", "p99")


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {key: row[key] for key in PLAN_COLUMNS}
    for latency in LATENCIES:
        for pct in PERCENTILES:
            flat[f"{latency}_{pct}"] = row[latency][pct]
    flat["refused_by_limit"] = ";".join(f"{k}={v}" for k, v in row["refused_by_limit"].items())
    return flat


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("", encoding="utf-8")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_result(result: Mapping[str, Any], out: Path, charts: bool = True) -> list[Path]:
    """Write every output file of one run into `out`; returns the paths written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"--out: cannot create {out} ({exc.strerror})") from exc
    written = [out / "result.json", out / "by_plan.csv", out / "by_site.csv", out / "series.csv"]
    written[0].write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    plans = [{"plan": name, **_flat(row)} for name, row in result["by_plan"].items()]
    plans.append({"plan": "(total)", **_flat(result["total"])})
    _write_csv(written[1], plans)
    sites = []
    for name, row in result["by_site"].items():
        sites.append({"site": name, **_flat(row), **result["sites"].get(name, {})})
    _write_csv(written[2], sites)
    _write_csv(written[3], list(result["series"]))
    if charts:
        written += write_charts(result, out)
    return written


def write_charts(result: Mapping[str, Any], out: Path) -> list[Path]:
    """latency.png (percentiles per plan) and load.png (time series)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plans = list(result["by_plan"])
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, latency in zip(axes, ("ttft_ms", "tpot_ms"), strict=True):
        for offset, pct in enumerate(PERCENTILES):
            values = [result["by_plan"][p][latency][pct] for p in plans]
            positions = [i + (offset - 1) * 0.25 for i in range(len(plans))]
            axis.bar(positions, values, width=0.25, label=pct)
        axis.set_xticks(range(len(plans)), plans, rotation=20)
        axis.set_title(latency.replace("_ms", " (ms)").upper())
        axis.legend()
    figure.tight_layout()
    latency_path = out / "latency.png"
    figure.savefig(latency_path, dpi=100)
    plt.close(figure)
    series = result["series"]
    figure, axes = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    times = [row["t_s"] / 60.0 for row in series]
    for key in ("completed", "refused", "overloaded", "failed"):
        values = [row[key] for row in series]
        deltas = [b - a for a, b in zip([0, *values[:-1]], values, strict=True)]
        axes[0].plot(times, deltas, label=key)
    axes[0].set_ylabel("requests per sample")
    axes[0].legend()
    for key in (k for k in (series[0] if series else {}) if k.startswith("util:")):
        axes[1].plot(times, [row[key] for row in series], label=key.removeprefix("util:"))
    axes[1].set_ylabel("engine utilization")
    axes[1].set_xlabel("simulated minutes")
    axes[1].legend()
    figure.tight_layout()
    load_path = out / "load.png"
    figure.savefig(load_path, dpi=100)
    plt.close(figure)
    return [latency_path, load_path]


def headline(result: Mapping[str, Any]) -> dict[str, float]:
    """The figures a what-if compares, flat."""
    total = result["total"]
    row: dict[str, float] = {
        "requests": total["requests"],
        "completed": total["completed"],
        "refused": total["refused"],
        "overloaded": total["overloaded"],
        "unplaceable": total["unplaceable"],
        "failed": total["failed"],
        "availability_nines": total["nines"],
        "goodput_rps": total["goodput_rps"],
        "goodput_share": total["goodput_share"],
        "throughput_tok_s": total["throughput_output_tokens_per_s"],
    }
    for latency in LATENCIES:
        for pct in ("p50", "p99"):
            row[f"{latency}_{pct}"] = total[latency][pct]
    for plan, values in result["by_plan"].items():
        row[f"{plan}: refused"] = values["refused"]
        row[f"{plan}: ttft_ms_p99"] = values["ttft_ms"]["p99"]
    for site, values in result["sites"].items():
        row[f"{site}: utilization"] = values["utilization"]
        row[f"{site}: energy_mwh"] = values["energy_mwh"]
    return row


def compare_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, float, float]]:
    """(figure, A, B) for every headline figure of either result (missing ones as 0)."""
    left, right = headline(a), headline(b)
    keys = list(dict.fromkeys([*left, *right]))
    return [(key, left.get(key, 0.0), right.get(key, 0.0)) for key in keys]
