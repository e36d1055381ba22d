"""A fleet of one site with one pool, for the tests of the gateway's fleet shell."""

from __future__ import annotations

from typing import Any

from fleetgate.routing.fleet import Fleet
from fleetgate.settings import settings_from_mapping


def one_pool_fleet(pool_id: str, backends: int, routing: dict[str, Any] | None = None) -> Fleet:
    """Site `s1`, pool `pool_id` of model `m` with `backends` backends on ports 9000, 9001, ..."""
    settings = settings_from_mapping(
        {
            "models": [{"id": "m", "family": "sonnet"}],
            "sites": [
                {
                    "id": "s1",
                    "provider": "acme-cloud",
                    "owner": "acme",
                    "location": "memphis-us",
                    "power_mw": 10,
                    "pools": [
                        {
                            "id": pool_id,
                            "gpu": "h100-sxm",
                            "gpus": 8,
                            "model": "m",
                            "backends": [
                                {"url": f"http://127.0.0.1:{9000 + n}"} for n in range(backends)
                            ],
                        }
                    ],
                }
            ],
            "routing": routing or {},
        }
    )
    return Fleet.from_settings(settings)
