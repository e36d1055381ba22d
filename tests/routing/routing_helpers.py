"""Builders of small fleets for the routing tests."""

from __future__ import annotations

from typing import Any

from fleetgate.routing.fleet import Fleet
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import Router
from fleetgate.settings import Settings, settings_from_mapping


def pool(
    pool_id: str, *, backends: int = 1, gpus: int = 8, tp: int = 8, **extra: Any
) -> dict[str, Any]:
    return {
        "id": pool_id,
        "gpu": "h100-sxm",
        "gpus": gpus,
        "model": extra.pop("model", "m"),
        "tensor_parallel": tp,
        "backends": [{"url": f"http://127.0.0.1:{9000 + n}"} for n in range(backends)],
        **extra,
    }


def site(site_id: str, pools: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    base = {
        "id": site_id,
        "provider": extra.pop("provider", "acme-cloud"),
        "owner": extra.pop("owner", "acme"),
        "location": extra.pop("location", "memphis-us"),
        "power_mw": 10,
        "pools": pools,
    }
    return {**base, **extra}


def make_settings(
    sites: list[dict[str, Any]], *, tenants: list[dict[str, Any]] | None = None, **sections: Any
) -> Settings:
    data = {
        "models": [{"id": "m", "family": "sonnet"}, {"id": "other", "family": "haiku"}],
        "sites": sites,
        "tenants": tenants or [],
        **sections,
    }
    return settings_from_mapping(data)


def make_router(settings: Settings) -> tuple[Fleet, Router]:
    fleet = Fleet.from_settings(settings)
    return fleet, Router(fleet)


def request(tenant: str | None = "t1", *, model: str = "m", **extra: Any) -> RouteRequest:
    fields: dict[str, Any] = {
        "tenant_id": tenant,
        "model_id": model,
        "input_tokens": 100,
        "max_output_tokens": 100,
        **extra,
    }
    return RouteRequest(**fields)


def two_site_fleet(**sections: object) -> Fleet:
    """A ground site (two pools, three backends) and an orbital site dedicated to tenant t1."""
    settings = make_settings(
        [
            site(
                "ground",
                [pool("p1", backends=2, gpus=16, tp=8), pool("p2", gpus=64)],
                jurisdiction="us",
                network_rtt_ms=2,
            ),
            site(
                "orbit",
                [pool("p3", dedicated_to=["t1"])],
                kind="orbital",
                provider="orbital-co",
                owner="spacex",
                location="leo-xx",
                network_rtt_ms=40,
            ),
        ],
        tenants=[{"id": "t1"}],
        **sections,
    )
    return Fleet.from_settings(settings)
