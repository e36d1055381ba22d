"""Replay of a request trace: a CSV of timestamp, tenant, model, input tokens, output tokens.

Owns reading and checking the file (every bad line is refused with its line number and column)
and mapping each line to a `RequestSpec`; the text can be read first and parsed elsewhere (a sweep's
driver reads it, its workers parse it). `timestamp` is seconds from the trace's start, epoch
seconds, or an ISO 8601 time; the first line is moved to the scenario start and `time_scale`
stretches the axis. `tenant` names a tenant of the fleet file (its plan or tier and placement)
or a population of the scenario (a user of it). Lines are returned sorted by time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fleetgate.configfile import read_utf8_text
from fleetgate.errors import ConfigurationError
from fleetgate.settings import Settings
from fleetgate.sim.scenario_types import parse_instant
from fleetgate.sim.workload import Audience, RequestSpec

COLUMNS = ("timestamp", "tenant", "model", "input_tokens", "output_tokens")


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One request of the trace: when (seconds from the scenario start) and what."""

    offset: float
    call: RequestSpec


def _count(text: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(
            f"{where}: expected a non-negative integer, got {text!r}"
        ) from None
    if value < 0:
        raise ConfigurationError(f"{where}: expected a non-negative integer, got {text!r}")
    return value


def _time(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_instant(text)
    except ValueError:
        raise ConfigurationError(
            f"{where}: expected seconds or an ISO 8601 time, got {text!r}"
        ) from None


def read_trace_text(path: Path) -> str:
    """The trace file's text, newlines as in the file (a sweep's driver ships it to workers)."""
    return read_utf8_text(path)


def read_trace(
    path: Path,
    settings: Settings,
    audiences: Mapping[str, Audience],
    time_scale: float = 1.0,
    text: str | None = None,
) -> list[TraceLine]:
    """Every line of the trace as a call, sorted by time, offsets from the first line.

    `text` is the file's content read earlier (`read_trace_text`); None reads `path`. Errors
    name `path` and the line either way.
    """
    if text is None:
        text = read_trace_text(path)
    stream = io.StringIO(text, newline="")
    return parse_trace(stream, str(path), settings, audiences, time_scale)


def parse_trace(
    lines: Iterable[str],
    name: str,
    settings: Settings,
    audiences: Mapping[str, Audience],
    time_scale: float = 1.0,
) -> list[TraceLine]:
    """The CSV `lines` (opened with ``newline=""``) as calls; errors say ``name:line``."""
    reader = csv.DictReader(lines)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ConfigurationError(
            f"{name}: missing columns {missing} (expected {', '.join(COLUMNS)})"
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        where = f"{name}:{number}"
        when = _time(row["timestamp"] or "", f"{where}: timestamp")
        tenant = (row["tenant"] or "").strip()
        audience = audiences.get(tenant)
        if audience is None:
            raise ConfigurationError(
                f"{where}: tenant: unknown tenant {tenant!r} (fleet tenants and scenario "
                f"populations: {sorted(audiences)})"
            )
        model = (row["model"] or "").strip()
        if settings.model(model) is None:
            known = [m.id for m in settings.models]
            raise ConfigurationError(f"{where}: model: unknown model {model!r} ({known})")
        prompt = _count(row["input_tokens"] or "", f"{where}: input_tokens")
        output = _count(row["output_tokens"] or "", f"{where}: output_tokens")
        call = RequestSpec(audience, tenant, model, max(prompt, 1), 0, max(output, 1), None)
        rows.append((when, number, call))
    if not rows:
        return []
    rows.sort(key=lambda item: (item[0], item[1]))
    first = rows[0][0]
    return [TraceLine((when - first) * time_scale, call) for when, _, call in rows]
