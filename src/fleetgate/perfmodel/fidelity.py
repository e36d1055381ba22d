"""The fidelity table: published per-GPU results (data/fidelity.yaml) next to what the model
predicts for the same GPU, model, parallelism and workload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel import fields
from fleetgate.perfmodel.catalog import HardwareCatalog, read_builtin_data
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.replica import ReplicaPerformance, replica_performance

FIDELITY_TOLERANCE = 0.20
"""The model must land within +/-20% of every published row."""


@dataclass(frozen=True, slots=True)
class FidelityRow:
    """One published result and the workload it ran."""

    id: str
    source: str
    gpu: str
    model: str
    tensor_parallel: int
    prompt_tokens: float
    output_tokens: float
    target_tpot_s: float | None
    target_ttft_s: float | None
    published_tokens_per_s_per_gpu: float


@dataclass(frozen=True, slots=True)
class FidelityResult:
    """A row with the model's prediction."""

    row: FidelityRow
    performance: ReplicaPerformance

    @property
    def predicted_tokens_per_s_per_gpu(self) -> float:
        """Output tokens/s per GPU the model predicts."""
        return self.performance.output_tokens_per_s_per_gpu

    @property
    def relative_error(self) -> float:
        """(predicted - published) / published."""
        published = self.row.published_tokens_per_s_per_gpu
        return (self.predicted_tokens_per_s_per_gpu - published) / published


def parse_fidelity_table(document: Any) -> tuple[FidelityRow, ...]:
    """Rows from a parsed fidelity document ({workloads: {...}, rows: [...]})."""
    top = fields.mapping(document, "<document>")
    workloads = fields.mapping(top.get("workloads"), "workloads")
    rows = top.get("rows")
    if not isinstance(rows, list) or not rows:
        raise ConfigurationError("rows: expected a non-empty list")
    return tuple(
        _row(fields.mapping(entry, f"rows[{i}]"), workloads, f"rows[{i}]")
        for i, entry in enumerate(rows)
    )


def _row(entry: Mapping[str, Any], workloads: Mapping[str, Any], path: str) -> FidelityRow:
    name = fields.text(entry, "workload", path)
    if name not in workloads:
        raise ConfigurationError(f"{path}.workload: unknown workload {name!r}")
    workload = fields.mapping(workloads[name], f"workloads.{name}")
    where = f"workloads.{name}"
    return FidelityRow(
        id=fields.text(entry, "id", path),
        source=fields.text(entry, "source", path),
        gpu=fields.text(entry, "gpu", path),
        model=fields.text(entry, "model", path),
        tensor_parallel=fields.count(entry, "tensor_parallel", path),
        prompt_tokens=fields.positive_number(workload, "prompt_tokens", where),
        output_tokens=fields.positive_number(workload, "output_tokens", where),
        target_tpot_s=fields.optional_positive_number(workload, "target_tpot_s", where),
        target_ttft_s=fields.optional_positive_number(workload, "target_ttft_s", where),
        published_tokens_per_s_per_gpu=fields.positive_number(
            entry, "published_tokens_per_s_per_gpu", path
        ),
    )


def builtin_fidelity_table() -> tuple[FidelityRow, ...]:
    """The table shipped in perfmodel/data/fidelity.yaml."""
    return parse_fidelity_table(read_builtin_data("fidelity.yaml"))


def evaluate_row(
    row: FidelityRow, efficiency: Efficiency | None = None, catalog: HardwareCatalog | None = None
) -> FidelityResult:
    """The model's prediction for one published row."""
    book = catalog or HardwareCatalog.builtin()
    performance = replica_performance(
        book.gpu(row.gpu),
        book.model(row.model),
        row.tensor_parallel,
        target_tpot_s=row.target_tpot_s,
        target_ttft_s=row.target_ttft_s,
        mean_prompt_tokens=row.prompt_tokens,
        mean_output_tokens=row.output_tokens,
        efficiency=efficiency,
    )
    return FidelityResult(row=row, performance=performance)


def evaluate_table(
    rows: tuple[FidelityRow, ...] | None = None, efficiency: Efficiency | None = None
) -> tuple[FidelityResult, ...]:
    """Predictions for every row (the built-in table by default)."""
    return tuple(evaluate_row(row, efficiency) for row in (rows or builtin_fidelity_table()))
