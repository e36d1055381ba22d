"""The `fleetgate perfmodel` commands: show a replica's performance, list the catalogs, print the
fidelity table, and calibrate the efficiency factors from measured data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetgate.cli.console import terminal_console
from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.calibration import CalibrationResult, calibrate, parse_measurements
from fleetgate.perfmodel.catalog import HardwareCatalog
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.fidelity import FIDELITY_TOLERANCE, evaluate_table
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape
from fleetgate.perfmodel.replica import (
    DEFAULT_MAX_BATCH,
    ReplicaPerformance,
    operating_point,
    replica_performance,
)
from fleetgate.perfmodel.roofline import replica_kv_bytes_per_token

SWEEP_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def register(app: typer.Typer) -> None:
    """Add the `perfmodel` command group to the fleetgate CLI."""
    group = typer.Typer(
        name="perfmodel",
        help="The performance model: GPU/model catalogs, replica throughput, calibration.",
        no_args_is_help=True,
    )
    group.command(name="show")(show_command)
    group.command(name="catalog")(catalog_command)
    group.command(name="fidelity")(fidelity_command)
    group.command(name="calibrate")(calibrate_command)
    app.add_typer(group, name="perfmodel")


def show_command(
    gpu: Annotated[str, typer.Option(help="GPU name or alias (h100, h200, b200, gb200 ...).")],
    model: Annotated[str, typer.Option(help="Model shape, e.g. llama-3.1-70b or ...@fp8.")],
    tp: Annotated[int, typer.Option("--tp", help="Tensor-parallel degree (GPUs per replica).")] = 1,
    prompt_tokens: Annotated[float, typer.Option(help="Mean prompt length.")] = 1000.0,
    output_tokens: Annotated[float, typer.Option(help="Mean output length.")] = 300.0,
    tpot_ms: Annotated[float, typer.Option(help="Target time per output token.")] = 50.0,
    ttft_ms: Annotated[float, typer.Option(help="Target time to first token.")] = 2000.0,
    max_batch: Annotated[int, typer.Option(help="Cap on concurrent sequences.")] = (
        DEFAULT_MAX_BATCH
    ),
) -> None:
    """Show one replica: specs, KV capacity, the operating point at the targets, a batch sweep."""
    catalog = HardwareCatalog.builtin()
    gpu_spec, shape = catalog.gpu(gpu), catalog.model(model)
    efficiency = Efficiency()
    performance = replica_performance(
        gpu_spec,
        shape,
        tp,
        target_tpot_s=tpot_ms / 1000.0,
        target_ttft_s=ttft_ms / 1000.0,
        mean_prompt_tokens=prompt_tokens,
        mean_output_tokens=output_tokens,
        efficiency=efficiency,
        max_batch=max_batch,
    )
    console = terminal_console()
    console.print(_replica_table(gpu_spec, shape, performance))
    console.print(_sweep_table(gpu_spec, shape, performance, prompt_tokens, output_tokens))


def _replica_table(gpu: GpuSpec, model: ModelShape, perf: ReplicaPerformance) -> Table:
    tp = perf.tensor_parallel
    table = Table(title=f"{model.name} on {tp} x {gpu.name}", show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    kv_token = replica_kv_bytes_per_token(model, tp)
    rows = [
        ("weights", f"{model.weight_bytes / 1e9:,.1f} GB ({model.weight_precision})"),
        ("KV per token (replica)", f"{kv_token / 1024:,.1f} KiB ({model.kv_precision})"),
        ("KV capacity", f"{perf.kv_capacity_tokens:,} tokens"),
        ("largest batch (KV, cap)", f"{perf.max_batch:,}"),
        ("batch at the targets", f"{perf.batch:,} (limited by {perf.limited_by})"),
        ("prefill of one prompt", f"{perf.prefill_s * 1000:,.1f} ms"),
        ("decode step", f"{perf.decode_step_s * 1000:,.2f} ms"),
        ("TPOT / TTFT", f"{perf.tpot_s * 1000:,.1f} ms / {perf.ttft_s * 1000:,.0f} ms"),
        ("requests/s (replica)", f"{perf.requests_per_s:,.2f}"),
        ("output tokens/s (replica)", f"{perf.output_tokens_per_s:,.0f}"),
        ("input tokens/s (replica)", f"{perf.input_tokens_per_s:,.0f}"),
        ("output tokens/s per GPU", f"{perf.output_tokens_per_s_per_gpu:,.0f}"),
        ("meets targets", "yes" if perf.meets_targets else "no"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _sweep_table(
    gpu: GpuSpec, model: ModelShape, perf: ReplicaPerformance, prompt: float, output: float
) -> Table:
    table = Table(title="throughput / interactivity frontier (batch sweep)")
    for column in ("batch", "decode step ms", "TPOT ms", "TTFT ms", "tok/s/user", "tok/s/GPU"):
        table.add_column(column, justify="right")
    efficiency = Efficiency()
    for batch in (b for b in SWEEP_BATCHES if b <= perf.max_batch):
        point = operating_point(
            gpu,
            model,
            perf.tensor_parallel,
            efficiency,
            batch=batch,
            prompt_tokens=prompt,
            output_tokens=output,
        )
        table.add_row(
            str(batch),
            f"{point.decode_step_s * 1000:,.2f}",
            f"{point.tpot_s * 1000:,.1f}",
            f"{point.ttft_s * 1000:,.0f}",
            f"{1.0 / point.tpot_s:,.1f}",
            f"{point.requests_per_s * output / perf.tensor_parallel:,.0f}",
        )
    return table


def catalog_command() -> None:
    """List the GPUs and model shapes the performance model knows."""
    catalog = HardwareCatalog.builtin()
    gpus = Table(title="GPUs (dense TFLOP/s)")
    for column in ("name", "aliases", "HBM GB", "TB/s", "BF16", "FP8", "FP4", "TDP W"):
        gpus.add_column(column)
    for gpu in catalog.gpus.values():
        gpus.add_row(
            gpu.name,
            ", ".join(gpu.aliases),
            f"{gpu.memory_gb:g}",
            f"{gpu.bandwidth_tb_s:g}",
            f"{gpu.bf16_tflops:g}",
            "-" if gpu.fp8_tflops is None else f"{gpu.fp8_tflops:g}",
            "-" if gpu.fp4_tflops is None else f"{gpu.fp4_tflops:g}",
            f"{gpu.power_w:g}",
        )
    models = Table(title="model shapes")
    for column in (
        "name",
        "params B (active)",
        "layers",
        "KV heads x dim",
        "KV KiB/token",
        "weights",
    ):
        models.add_column(column)
    for shape in catalog.models.values():
        attention = (
            f"MLA {shape.kv_lora_rank}+{shape.rope_head_dim}"
            if shape.uses_mla
            else f"{shape.kv_heads} x {shape.head_dim}"
        )
        models.add_row(
            shape.name,
            f"{shape.total_params_b:g} ({shape.active_params_b:g})",
            str(shape.layers),
            attention,
            f"{shape.kv_bytes_per_token / 1024:,.1f}",
            shape.weight_precision,
        )
    console = terminal_console()
    console.print(gpus)
    console.print(models)


def fidelity_command() -> None:
    """Compare the model with the published results of the fidelity table."""
    table = Table(title=f"fidelity: published vs model (tolerance +/-{FIDELITY_TOLERANCE:.0%})")
    for column in ("row", "GPU", "model", "TP", "published tok/s/GPU", "model", "error", "ok"):
        table.add_column(column)
    results = evaluate_table()
    for result in results:
        row = result.row
        ok = abs(result.relative_error) <= FIDELITY_TOLERANCE
        table.add_row(
            row.id,
            row.gpu,
            row.model,
            str(row.tensor_parallel),
            f"{row.published_tokens_per_s_per_gpu:,.0f}",
            f"{result.predicted_tokens_per_s_per_gpu:,.0f}",
            f"{result.relative_error:+.1%}",
            "yes" if ok else "NO",
        )
    terminal_console().print(table)


def calibrate_command(
    data: Annotated[Path, typer.Argument(help="CSV of measurements (see `calibration` docs).")],
) -> None:
    """Fit the efficiency factors to measured TTFT/TPOT and report the error before and after."""
    try:
        text = data.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{data}: cannot read: {exc}") from None
    result = calibrate(parse_measurements(text, source=str(data)))
    terminal_console().print(_calibration_table(result))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _calibration_table(result: CalibrationResult) -> Table:
    table = Table(title=f"calibration from {result.rows} rows")
    for column in ("", "before", "after"):
        table.add_column(column, justify="right")
    before, after = result.before, result.after
    rows = [
        (
            "compute_efficiency",
            f"{before.compute_efficiency:.3f}",
            f"{after.compute_efficiency:.3f}",
        ),
        (
            "bandwidth_efficiency",
            f"{before.bandwidth_efficiency:.3f}",
            f"{after.bandwidth_efficiency:.3f}",
        ),
        (
            "step_overhead_ms",
            f"{before.step_overhead_s * 1000:.2f}",
            f"{after.step_overhead_s * 1000:.2f}",
        ),
        ("tp_comm_penalty", f"{before.tp_comm_penalty:.3f}", f"{after.tp_comm_penalty:.3f}"),
        (
            "TTFT error (MAPE)",
            _percent(result.error_before.ttft_mape),
            _percent(result.error_after.ttft_mape),
        ),
        (
            "TPOT error (MAPE)",
            _percent(result.error_before.tpot_mape),
            _percent(result.error_after.tpot_mape),
        ),
        (
            "overall error (MAPE)",
            _percent(result.error_before.overall_mape),
            _percent(result.error_after.overall_mape),
        ),
    ]
    for row in rows:
        table.add_row(*row)
    return table
