"""Small fleets and scenarios for the simulator tests, written into a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FLEET: dict[str, Any] = {
    "models": [{"id": "m-small", "family": "haiku", "shape": "llama-3.1-8b"}],
    "sites": [
        {
            "id": "east",
            "provider": "aws",
            "owner": "aws",
            "location": "virginia-us",
            "power_mw": 5,
            "network_rtt_ms": 10,
            "pools": [
                {
                    "id": "east-h100",
                    "gpu": "h100-sxm",
                    "gpus": 4,
                    "model": "m-small",
                    "tensor_parallel": 1,
                }
            ],
        },
        {
            "id": "west",
            "provider": "gcp",
            "owner": "google",
            "location": "oregon-us",
            "power_mw": 5,
            "network_rtt_ms": 30,
            "pools": [
                {
                    "id": "west-h100",
                    "gpu": "h100-sxm",
                    "gpus": 4,
                    "model": "m-small",
                    "tensor_parallel": 1,
                }
            ],
        },
    ],
    "tenants": [{"id": "acme", "tier": "tier-1"}],
}


def scenario(**changes: Any) -> dict[str, Any]:
    """A 10-minute scenario of Pro users and one API organization on FLEET."""
    data: dict[str, Any] = {
        "fleet": "fleet.yaml",
        "seed": 3,
        "duration": "10m",
        "workload": {
            "model_mix": {"m-small": 1.0},
            "populations": [
                {
                    "plan": "pro",
                    "users": 3000,
                    "sessions_per_user_day": 20,
                    "sessions": {"chat": 0.6, "agentic": 0.4},
                },
                {
                    "name": "acme-api",
                    "tenant": "acme",
                    "users": 1,
                    "sessions_per_user_day": 86400,
                    "sessions": {"single": 1.0},
                },
            ],
        },
    }
    data.update(changes)
    return data


def write(folder: Path, data: dict[str, Any], name: str = "scenario.yaml") -> Path:
    """Write FLEET and `data` into `folder`; the scenario's path."""
    (folder / "fleet.yaml").write_text(yaml.safe_dump(FLEET), encoding="utf-8")
    path = folder / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
