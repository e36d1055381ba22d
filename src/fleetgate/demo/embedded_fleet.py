"""The demo's fleet: three sites of three providers, built in memory around free loopback ports."""

from __future__ import annotations

from typing import Any

from fleetgate.settings import Settings, settings_from_mapping

DEMO_SITES = (
    # (site id, provider/owner, location, pool id, gpu, model id, decode ms per step)
    ("hyperscaler-east", "aws", "virginia-us", "east-h100", "h100-sxm", "claude-sonnet-sim", 8.0),
    ("hyperscaler-west", "gcp", "oregon-us", "west-h200", "h200", "claude-sonnet-sim", 5.0),
    ("leased-memphis", "xai", "memphis-us", "memphis-h100", "h100-sxm", "claude-haiku-sim", 3.0),
)


def demo_settings(engine_ports: list[int], gateway_port: int, state_path: str) -> Settings:
    """Settings for the demo: the engines on `engine_ports`, the gateway on `gateway_port`."""
    sites: list[dict[str, Any]] = []
    for (site, owner, location, pool, gpu, model, _), port in zip(
        DEMO_SITES, engine_ports, strict=True
    ):
        sites.append(
            {
                "id": site,
                "provider": owner,
                "owner": owner,
                "location": location,
                "power_mw": 20,
                "pools": [
                    {
                        "id": pool,
                        "gpu": gpu,
                        "gpus": 64,
                        "model": model,
                        "tensor_parallel": 8,
                        "backends": [{"url": f"http://127.0.0.1:{port}", "protocol": "openai"}],
                    }
                ],
            }
        )
    data = {
        "server": {"host": "127.0.0.1", "port": gateway_port, "state_path": state_path},
        "models": [
            {"id": "claude-sonnet-sim", "family": "sonnet", "shape": "llama-3.1-70b"},
            {"id": "claude-haiku-sim", "family": "haiku", "shape": "llama-3.1-8b"},
        ],
        "sites": sites,
        "tenants": [
            {"id": "demo", "plan": "max-5x"},
            {"id": "acme", "tier": "tier-4", "placement": {"deny_owners": ["xai"]}},
        ],
    }
    return settings_from_mapping(data, source="demo fleet")
