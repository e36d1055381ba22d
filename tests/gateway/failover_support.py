"""Helpers for routing and failover tests against a live fleet: engine faults, requests, SSE
parsing, access-log records, and a limiter wrapper that counts settlements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from gateway_harness import LiveFleet

from fleetgate.gateway.process import Gateway
from fleetgate.limits.limiter import Admission
from fleetgate.seams import Usage

ADMIN_KEY = "admin-secret-for-failover-tests"
FAMILY_LIMITS = {"rpm": 100_000, "itpm": 100_000_000, "otpm": 100_000_000}
"""Per-minute limits of a family high enough that the routing tests never hit them."""
WEIGHTS = {"input": 1, "output": 5, "cache_write": 1.25, "cache_read": 0.1}
"""Cost weights of every token kind, for the `limits.weights` of the test fleets."""
NO_FAULTS = {
    "error_rate": 0.0,
    "extra_latency_ms": 0.0,
    "hang": False,
    "close_after_tokens": None,
    "unhealthy": False,
}


def set_fault(fleet: LiveFleet, engine: int, **faults: Any) -> None:
    """Change one engine's fault knobs at runtime."""
    response = httpx.post(fleet.engine_url(engine) + "/fault", json=faults, timeout=5)
    assert response.status_code == 200, response.text


def clear_faults(fleet: LiveFleet) -> None:
    for engine in range(len(fleet.engines)):
        set_fault(fleet, engine, **NO_FAULTS)


def reset_fleet_health(fleet: LiveFleet) -> None:
    """Close every breaker and undrain everything (between tests sharing one fleet)."""
    gw = fleet.gateway
    for backend in gw.fleet.index.backends:
        gw.fleet.health.reset_breaker(backend.id, gw.now())
        gw.fleet.health.undrain("backend", backend.id, gw.now())


def anthropic_headers(fleet: LiveFleet) -> dict[str, str]:
    return {"x-api-key": fleet.key, "anthropic-version": "2023-06-01"}


def message_body(model: str = "claude-sonnet-sim", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hello"}],
    }
    body.update(extra)
    return body


def post_message(fleet: LiveFleet, timeout: float = 30, **extra: Any) -> httpx.Response:
    return httpx.post(
        fleet.url + "/v1/messages",
        json=message_body(**extra),
        headers=anthropic_headers(fleet),
        timeout=timeout,
    )


def post_chat(fleet: LiveFleet, timeout: float = 30, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "model": "claude-sonnet-sim",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hello"}],
    }
    body.update(extra)
    return httpx.post(
        fleet.url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {fleet.key}"},
        timeout=timeout,
    )


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of an Anthropic stream."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        name = next((line[7:] for line in lines if line.startswith("event: ")), "")
        data = json.loads("".join(line[6:] for line in lines if line.startswith("data: ")))
        events.append((name, data))
    return events


def openai_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of an OpenAI stream (the [DONE] marker left out)."""
    chunks = []
    for block in text.strip().split("\n\n"):
        payload = block.removeprefix("data: ").strip()
        if payload and payload != "[DONE]":
            chunks.append(json.loads(payload))
    return chunks


def access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every access-log record captured so far."""
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "fleetgate.access"
    ]


def admin(fleet: LiveFleet, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method, fleet.url + path, json=body, headers={"x-api-key": ADMIN_KEY}, timeout=10
    )


@contextmanager
def admin_key_env() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("FLEETGATE_ADMIN_KEY", ADMIN_KEY)
    try:
        yield
    finally:
        mp.undo()


class SettleCounter:
    """Wraps a gateway's limiter: counts admissions and settlements per admission."""

    def __init__(self, gateway: Gateway) -> None:
        limiter = gateway.limiter
        self.admitted = 0
        self.settled: dict[int, int] = {}
        self.usage: list[Usage] = []
        self._admissions: list[Admission] = []  # kept alive so their ids stay unique
        admit, settle = limiter.admit, limiter.settle

        async def counting_admit(*args: Any, **kwargs: Any) -> Admission:
            admission = await admit(*args, **kwargs)
            self._admissions.append(admission)
            self.admitted += 1
            return admission

        async def counting_settle(admission: Admission, usage: Usage) -> Any:
            self.settled[id(admission)] = self.settled.get(id(admission), 0) + 1
            self.usage.append(usage)
            return await settle(admission, usage)

        limiter.admit = counting_admit  # type: ignore[method-assign]
        limiter.settle = counting_settle  # type: ignore[method-assign]

    @property
    def settlements(self) -> int:
        return sum(self.settled.values())
