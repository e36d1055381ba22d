"""One model everywhere: a real simulated engine driven by the roofline timer takes at least the
time the performance model predicts for a request."""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import free_port
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.server import engine_in_thread
from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.engine_timer import step_timer_for
from fleetgate.perfmodel.step_timer import RooflineStepTimer


def test_engine_answers_at_the_pace_of_the_performance_model() -> None:
    timer = RooflineStepTimer("h200", "llama-3.1-8b", 1, batch_cap=8)
    options = EngineOptions(port=free_port(), models=("sim",), output_tokens=16)
    with engine_in_thread(options, timer):
        url = f"http://127.0.0.1:{options.port}/v1/chat/completions"
        body = {"model": "sim", "messages": [{"role": "user", "content": "hello there"}]}
        started = time.perf_counter()
        response = httpx.post(url, json={**body, "max_tokens": 16}, timeout=30)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    assert usage["completion_tokens"] == 16
    prompt = usage["prompt_tokens"]
    # prefill, then one decode step per token (one sequence, growing context)
    predicted = timer.prefill_seconds(prompt) + sum(
        timer.decode_step_seconds(1, prompt + n) for n in range(16)
    )
    assert elapsed >= 0.8 * predicted
    assert elapsed < predicted + 10.0  # generous: a loaded CI box, not a timing benchmark


def test_engine_timer_helper_uses_catalog_names() -> None:
    timer = step_timer_for("h100", "llama-3.1-70b@fp8", 4, batch_cap=32)
    assert timer.max_batch == 32
    assert timer.decode_step_seconds(8, 8000) > 0
    with pytest.raises(ConfigurationError, match="unknown model"):
        step_timer_for("h100", "llama-9", 1)
