"""The plan as JSON-ready data (for `fleetgate plan --json`): plain dicts, lists and numbers.

Infinite values (a limit the fleet does not bind) become the string "inf"; NaN becomes null.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from fleetgate.planner.plan import PlanResult
from fleetgate.planner.whatif import Comparison


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def plan_data(result: PlanResult) -> dict[str, Any]:
    """Everything in `result`, plus the derived totals the tables show."""
    data = dataclasses.asdict(result)
    data["summary"] = {
        "gpus": result.capacity.gpus,
        "usable_tokens_per_s": result.capacity.usable_tokens_per_s,
        "usable_tokens_per_s_by_model": result.capacity.usable_by_model(),
        "usd_per_million_tokens": result.usd_per_million_tokens,
        "headroom": result.subscriptions.headroom,
        "downtime_minutes_per_year": result.availability.downtime_minutes_per_year,
    }
    return dict(_clean(data))


def report_data(
    result: PlanResult, comparisons: Sequence[Comparison], elapsed_s: float
) -> dict[str, Any]:
    """The baseline plan and, per what-if, its before/after rows and full plan."""
    return {
        "plan": plan_data(result),
        "what_if": [
            {
                "label": comparison.what_if.label,
                "spec": f"{comparison.what_if.kind}={comparison.what_if.argument}".rstrip("="),
                "rows": _clean([dataclasses.asdict(row) for row in comparison.rows]),
                "after": plan_data(comparison.after),
            }
            for comparison in comparisons
        ],
        "elapsed_s": elapsed_s,
    }
