"""Helpers for the engine tests: a real engine on a free loopback port, clients, metric reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from openai import AsyncOpenAI, OpenAI

from conftest import free_port
from fleetgate.engine.app import EngineApp
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.server import engine_in_thread
from fleetgate.seams import StepTimer

FAST_TIMING: dict[str, Any] = {
    "prefill_tokens_per_s": 1_000_000.0,
    "decode_step_ms": 1.0,
    "decode_step_ms_per_seq": 0.0,
    "decode_step_ms_per_1k_kv": 0.0,
}

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


@dataclass
class RunningEngine:
    """An engine served by uvicorn in a background thread."""

    app: EngineApp
    url: str

    def client(self, **options: Any) -> OpenAI:
        """An OpenAI SDK client for this engine (no retries, so faults show as they are)."""
        return OpenAI(base_url=f"{self.url}/v1", api_key="test-key", max_retries=0, **options)

    def async_client(self, **options: Any) -> AsyncOpenAI:
        return AsyncOpenAI(base_url=f"{self.url}/v1", api_key="test-key", max_retries=0, **options)

    def metrics(self) -> dict[str, float]:
        """Every sample of `/metrics` keyed by name plus labels."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        samples: dict[str, float] = {}
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match:
                samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
        return samples

    def metric(self, name: str) -> float:
        """The value of the one sample of `name` (labels ignored; summed if several)."""
        return sum(v for k, v in self.metrics().items() if k.split("{")[0] == name)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/fault", json=faults, timeout=5)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


@contextmanager
def running_engine(timer: StepTimer | None = None, **overrides: Any) -> Iterator[RunningEngine]:
    """Start an engine (fast timing unless overridden) and stop it afterwards."""
    port = free_port()
    options = EngineOptions(port=port, **{**FAST_TIMING, **overrides})
    with engine_in_thread(options, timer) as app:
        yield RunningEngine(app=app, url=f"http://127.0.0.1:{port}")


def user(text: str) -> list[dict[str, Any]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]
