"""Calibration: fit the efficiency factors to measured serving data and report the error before
and after.

Input is a CSV, one row per steady-state measurement (e.g. one concurrency level of a serving
benchmark such as vLLM's `benchmark_serving`), with a header naming these columns:

    gpu              catalog name or alias (h100, h200-sxm, b200 ...)
    model            model shape, optionally with precision (llama-3.1-70b@fp8)
    tensor_parallel  GPUs per replica
    batch            concurrent sequences the replica held (the benchmark's concurrency)
    prompt_tokens    mean prompt length
    output_tokens    mean output length
    ttft_s           mean time to first token, seconds   (or ttft_ms; may be empty)
    tpot_s           mean time per output token after the first, seconds (or tpot_ms; may be empty)

Lines starting with '#' are comments. The fit minimises the mean squared log-ratio between the
model's TTFT/TPOT at each row's operating point and the measured values (Nelder-Mead over the
four efficiency factors; memory_utilization is kept).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel import fields
from fleetgate.perfmodel.catalog import HardwareCatalog
from fleetgate.perfmodel.efficiency import Efficiency
from fleetgate.perfmodel.optimize import Vector, nelder_mead
from fleetgate.perfmodel.replica import OperatingPoint, operating_point

REQUIRED_COLUMNS = ("gpu", "model", "tensor_parallel", "batch", "prompt_tokens", "output_tokens")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured operating point; `line` is its line in the CSV (for error messages)."""

    gpu: str
    model: str
    tensor_parallel: int
    batch: int
    prompt_tokens: float
    output_tokens: float
    ttft_s: float | None
    tpot_s: float | None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """Mean absolute percentage errors of the model against the measurements."""

    ttft_mape: float | None
    tpot_mape: float | None
    overall_mape: float
    points: int


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """Efficiency before and after the fit, with the error of each."""

    before: Efficiency
    after: Efficiency
    error_before: ErrorSummary
    error_after: ErrorSummary
    rows: int


def parse_measurements(text: str, *, source: str = "data") -> tuple[Measurement, ...]:
    """Measurements from CSV text; bad cells are refused as `source line N, column: reason`."""
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    numbered = [(n, line) for n, line in numbered if not line.lstrip().startswith("#")]
    if not numbered:
        raise ConfigurationError(f"{source}: no header and no rows")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in numbered)))
    header = [name.strip() for name in reader.fieldnames or ()]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ConfigurationError(f"{source}: missing column(s) {', '.join(missing)}")
    has_latency = any(c in header for c in ("ttft_s", "ttft_ms", "tpot_s", "tpot_ms"))
    if not has_latency:
        raise ConfigurationError(f"{source}: needs a ttft_s/ttft_ms or tpot_s/tpot_ms column")
    rows = tuple(
        _measurement({k.strip(): (v or "").strip() for k, v in raw.items() if k}, line, source)
        for (line, _), raw in zip(numbered[1:], reader, strict=True)
    )
    if not rows:
        raise ConfigurationError(f"{source}: no measurement rows")
    return rows


def _number(raw: Mapping[str, str], key: str, where: str) -> float | None:
    cell = raw.get(key, "")
    if cell == "":
        return None
    try:
        value = float(cell)
    except ValueError:
        raise ConfigurationError(
            f"{where}, column {key}: expected a number, got {cell!r}"
        ) from None
    return fields.check_positive(value, f"{where}, column {key}")


def _seconds(raw: Mapping[str, str], name: str, where: str) -> float | None:
    seconds = _number(raw, f"{name}_s", where)
    if seconds is not None:
        return seconds
    millis = _number(raw, f"{name}_ms", where)
    return None if millis is None else millis / 1000.0


def _measurement(raw: Mapping[str, str], line: int, source: str) -> Measurement:
    where = f"{source} line {line}"
    for key in REQUIRED_COLUMNS:
        if not raw.get(key):
            raise ConfigurationError(f"{where}, column {key}: value is missing")
    ttft, tpot = _seconds(raw, "ttft", where), _seconds(raw, "tpot", where)
    if ttft is None and tpot is None:
        raise ConfigurationError(f"{where}: needs a TTFT or a TPOT value")
    return Measurement(
        gpu=raw["gpu"],
        model=raw["model"],
        tensor_parallel=fields.check_count(
            _number(raw, "tensor_parallel", where), f"{where}, column tensor_parallel"
        ),
        batch=fields.check_count(_number(raw, "batch", where), f"{where}, column batch"),
        prompt_tokens=_number(raw, "prompt_tokens", where) or 0.0,
        output_tokens=_number(raw, "output_tokens", where) or 0.0,
        ttft_s=ttft,
        tpot_s=tpot,
        line=line,
    )


Predictor = Callable[[Efficiency], list[tuple[str, float, float]]]


def _predictor(measurements: Sequence[Measurement], catalog: HardwareCatalog) -> Predictor:
    resolved = []
    for item in measurements:
        try:
            resolved.append((item, catalog.gpu(item.gpu), catalog.model(item.model)))
        except ConfigurationError as exc:
            raise ConfigurationError(f"line {item.line}: {exc.message}") from None

    def predict(efficiency: Efficiency) -> list[tuple[str, float, float]]:
        pairs: list[tuple[str, float, float]] = []
        for item, gpu, model in resolved:
            point: OperatingPoint = operating_point(
                gpu,
                model,
                item.tensor_parallel,
                efficiency,
                batch=item.batch,
                prompt_tokens=item.prompt_tokens,
                output_tokens=item.output_tokens,
            )
            if item.ttft_s is not None:
                pairs.append(("ttft", item.ttft_s, point.ttft_s))
            if item.tpot_s is not None:
                pairs.append(("tpot", item.tpot_s, point.tpot_s))
        return pairs

    return predict


def _summary(pairs: list[tuple[str, float, float]]) -> ErrorSummary:
    def mape(kind: str | None) -> float | None:
        errors = [abs(p - m) / m for k, m, p in pairs if kind is None or k == kind]
        return float(np.mean(errors)) if errors else None

    return ErrorSummary(mape("ttft"), mape("tpot"), mape(None) or 0.0, len(pairs))


def error_summary(
    measurements: Sequence[Measurement],
    efficiency: Efficiency,
    catalog: HardwareCatalog | None = None,
) -> ErrorSummary:
    """How far the model with `efficiency` is from the measurements."""
    return _summary(_predictor(measurements, catalog or HardwareCatalog.builtin())(efficiency))


def _efficiency_from(vector: Vector, base: Efficiency) -> Efficiency:
    return replace(
        base,
        compute_efficiency=min(math.exp(vector[0]), 1.0),
        bandwidth_efficiency=min(math.exp(vector[1]), 1.0),
        step_overhead_s=math.exp(vector[2]),
        tp_comm_penalty=math.exp(vector[3]),
    )


def calibrate(
    measurements: Sequence[Measurement],
    start: Efficiency | None = None,
    catalog: HardwareCatalog | None = None,
) -> CalibrationResult:
    """Fit the efficiency factors to `measurements`, starting from `start` (the defaults)."""
    if not measurements:
        raise ConfigurationError("calibration needs at least one measurement")
    base = start or Efficiency()
    predict = _predictor(measurements, catalog or HardwareCatalog.builtin())
    origin = np.array(
        [
            math.log(base.compute_efficiency),
            math.log(base.bandwidth_efficiency),
            math.log(max(base.step_overhead_s, 1e-5)),
            math.log(max(base.tp_comm_penalty, 1e-3)),
        ]
    )

    def objective(vector: Vector) -> float:
        pairs = predict(_efficiency_from(vector, base))
        misfit = sum(math.log(p / m) ** 2 for _, m, p in pairs) / len(pairs)
        return misfit + 1e-4 * float(np.sum((vector - origin) ** 2))

    fitted = _efficiency_from(nelder_mead(objective, origin), base)
    return CalibrationResult(
        before=base,
        after=fitted,
        error_before=_summary(predict(base)),
        error_after=_summary(predict(fitted)),
        rows=len(measurements),
    )
