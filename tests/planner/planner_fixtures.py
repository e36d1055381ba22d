"""Small fleet and demand mappings the planner tests build on (not a test module)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

FLEET: dict[str, Any] = {
    "models": [
        {"id": "sonnet", "family": "sonnet", "shape": "llama-3.1-70b"},
        {"id": "haiku", "family": "haiku", "shape": "llama-3.1-8b"},
    ],
    "sites": [
        {
            "id": "east",
            "provider": "aws",
            "owner": "aws",
            "location": "virginia-us",
            "power_mw": 10,
            "pue": 1.2,
            "pools": [
                {
                    "id": "east-h100",
                    "gpu": "h100-sxm",
                    "gpus": 4000,
                    "model": "sonnet",
                    "tensor_parallel": 8,
                },
            ],
        },
        {
            "id": "west",
            "provider": "gcp",
            "owner": "google",
            "location": "oregon-us",
            "power_mw": 5,
            "pue": 1.1,
            "pools": [
                {
                    "id": "west-h100",
                    "gpu": "h100-sxm",
                    "gpus": 1000,
                    "model": "haiku",
                    "tensor_parallel": 1,
                },
            ],
        },
    ],
}

DEMAND: dict[str, Any] = {
    "slo": {"tpot_ms": 50, "ttft_ms": 2000},
    "api_share": 0.2,
    "diurnal": {"peak_hour_utc": 16, "peak_to_trough": 3},
    "peak_metering": {"enabled": True, "hours_utc": [13, 19], "multiplier": 2},
    "model_mix": {"sonnet": 0.8, "haiku": 0.2},
    "offer": {"pro_five_hour_tokens": 50000, "pro_weekly_tokens": 400000},
    "plans": [
        {
            "id": "pro",
            "subscribers": 300000,
            "daily_active_share": 0.4,
            "session_tokens_mean": 40000,
            "usage_sigma": 1.2,
            "weekly_active_share": 0.7,
        },
        {
            "id": "max-5x",
            "subscribers": 50000,
            "daily_active_share": 0.6,
            "sessions_per_active_day": 2,
            "session_tokens_mean": 150000,
            "weekly_active_share": 0.8,
        },
    ],
    "tiers": [
        {"id": "start", "organizations": 1000, "utilization_mean": 0.01, "utilization_sd": 0.05},
        {"id": "scale", "organizations": 50, "utilization_mean": 0.05, "utilization_sd": 0.1},
    ],
}

ORBITAL_SITE: dict[str, Any] = {
    "id": "orbit-1",
    "provider": "orbital",
    "owner": "orbital",
    "kind": "orbital",
    "location": "leo-sso",
    "power_mw": 20,
    "pue": 1.05,
    "orbit": {"altitude_km": 650, "launch_usd_per_kg": 200},
    "pools": [
        {"id": "orbit-b200", "gpu": "b200", "gpus": 8000, "model": "sonnet", "tensor_parallel": 8}
    ],
}


def fleet(**changes: Any) -> dict[str, Any]:
    """A deep copy of FLEET with top-level keys replaced."""
    data = copy.deepcopy(FLEET)
    data.update(changes)
    return data


def demand(**changes: Any) -> dict[str, Any]:
    """A deep copy of DEMAND with top-level keys replaced."""
    data = copy.deepcopy(DEMAND)
    data.update(changes)
    return data


def write_yaml(path: Path, data: Any) -> Path:
    """Write `data` as YAML to `path` and return the path."""
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
