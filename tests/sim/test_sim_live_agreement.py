"""The simulator against the live gateway: one small workload, both ways, the same answers.

A tier-1 API organization (50 requests per minute) sends 70 short streaming requests, one every
40 ms, through a real gateway (uvicorn on loopback) to a real simulated engine timed by the
performance model (`RooflineStepTimer`, H100, Llama 3.1 8B: the timer the simulator's replicas
use), without retrying 429s. The same arrivals are replayed as a trace in the simulator.

Tolerances, and why:
- refusals (and completions): within 3 of each other. The token bucket refills continuously
  (50 per 60 s), so the live run, whose arrivals drift by a few milliseconds on a loaded machine,
  may admit one or two requests more or fewer than the exact replay. (Measured: 18 and 18.)
- TTFT and end-to-end medians: within 30% plus 10 ms. The engine and the simulator schedule
  alike (as in vLLM, a prefill step yields the first token, then one decode step per token);
  the 30% + 10 ms cover what the simulator leaves out: HTTP, the gateway's and the engine's
  event loops, and a busy 2-core machine. (Measured: TTFT 20 ms live vs 16 ms simulated; end
  to end 250-253 ms vs 237 ms.)
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from conftest import free_port
from fleetgate.api.app import create_app
from fleetgate.engine.app import create_engine_app
from fleetgate.engine.options import EngineOptions
from fleetgate.gateway.process import Gateway
from fleetgate.perfmodel.step_timer import RooflineStepTimer
from fleetgate.settings import settings_from_mapping
from fleetgate.sim.sweep import run_file
from fleetgate.tokens import filler

REQUESTS = 70
GAP_S = 0.04
PROMPT_TOKENS = 200
OUTPUT_TOKENS = 16
MODEL = "m-live"
REFUSAL_SLACK = 3
LATENCY_SHARE = 0.30
LATENCY_FLOOR_S = 0.010


def fleet_mapping(engine_port: int, gateway_port: int, state: Path) -> dict[str, Any]:
    """One site, one H100 engine serving an 8B model, one tier-1 organization."""
    return {
        "server": {"port": gateway_port, "state_path": str(state)},
        "models": [{"id": MODEL, "family": "haiku", "shape": "llama-3.1-8b"}],
        "sites": [
            {
                "id": "live",
                "provider": "aws",
                "owner": "aws",
                "location": "virginia-us",
                "power_mw": 1,
                "pools": [
                    {
                        "id": "live-h100",
                        "gpu": "h100-sxm",
                        "gpus": 1,
                        "model": MODEL,
                        "tensor_parallel": 1,
                        "backends": [
                            {"url": f"http://127.0.0.1:{engine_port}", "protocol": "openai"}
                        ],
                    }
                ],
            }
        ],
        "tenants": [{"id": "acme", "tier": "tier-1"}],
    }


def has_text(line: str) -> bool:
    """Whether a server-sent event line carries generated text (not the role-only opener)."""
    if not line.startswith("data:") or line.endswith("[DONE]"):
        return False
    choices = json.loads(line[5:]).get("choices") or [{}]
    return bool(choices[0].get("delta", {}).get("content"))


async def send_all(url: str, key: str) -> list[tuple[int, float, float]]:
    """Every request at its offset: (status, TTFT s, end-to-end s)."""
    body = {
        "model": MODEL,
        "max_tokens": OUTPUT_TOKENS,
        "stream": True,
        "messages": [{"role": "user", "content": filler(PROMPT_TOKENS)}],
    }
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def one(index: int, start: float) -> tuple[int, float, float]:
            await asyncio.sleep(max(start + index * GAP_S - time.perf_counter(), 0.0))
            sent = time.perf_counter()
            first = 0.0
            async with client.stream(
                "POST", f"{url}/v1/chat/completions", json=body, headers=headers
            ) as response:
                async for line in response.aiter_lines():
                    if first == 0.0 and has_text(line):
                        first = time.perf_counter() - sent
            return response.status_code, first, time.perf_counter() - sent

        start = time.perf_counter() + 0.05
        return list(await asyncio.gather(*(one(i, start) for i in range(REQUESTS))))


def server_thread_class() -> Any:
    """`ServerThread` of tests/gateway/gateway_harness.py (uvicorn in a thread, on loopback)."""
    module = sys.modules.get("gateway_harness")
    if module is None:
        harness = Path(__file__).resolve().parents[1] / "gateway" / "gateway_harness.py"
        spec = importlib.util.spec_from_file_location("gateway_harness", harness)
        assert spec is not None and spec.loader is not None
        module = sys.modules["gateway_harness"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.ServerThread


def live_run(tmp_path: Path) -> list[tuple[int, float, float]]:
    server_thread = server_thread_class()
    engine_port, gateway_port = free_port(), free_port()
    settings = settings_from_mapping(fleet_mapping(engine_port, gateway_port, tmp_path / "s.db"))
    options = EngineOptions(port=engine_port, models=(MODEL,), output_tokens=OUTPUT_TOKENS)
    timer = RooflineStepTimer("h100-sxm", "llama-3.1-8b", 1, batch_cap=options.max_batch)
    gateway = Gateway.build(settings)
    key = gateway.keys.create("acme")
    servers = [
        server_thread(create_engine_app(options, timer), engine_port).start(),
        server_thread(create_app(settings, gateway=gateway), gateway_port).start(),
    ]
    try:
        return asyncio.run(send_all(f"http://127.0.0.1:{gateway_port}", key))
    finally:
        for server in servers:
            server.stop()


def simulated_run(tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "sim"
    folder.mkdir()
    fleet = fleet_mapping(1, 2, folder / "unused.db")
    (folder / "fleet.yaml").write_text(yaml.safe_dump(fleet), encoding="utf-8")
    lines = ["timestamp,tenant,model,input_tokens,output_tokens"]
    lines += [
        f"{i * GAP_S:.3f},acme-api,{MODEL},{PROMPT_TOKENS},{OUTPUT_TOKENS}" for i in range(REQUESTS)
    ]
    (folder / "trace.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    scenario = {
        "fleet": "fleet.yaml",
        "seed": 1,
        "duration": "60s",
        "warmup": 0,
        "replica": {"max_batch": EngineOptions().max_batch},
        "workload": {
            "model_mix": {MODEL: 1.0},
            "populations": [
                {
                    "name": "acme-api",
                    "tenant": "acme",
                    "users": 0,
                    "client_retries": 0,
                    "max_tokens": OUTPUT_TOKENS,
                }
            ],
            "trace": {"path": "trace.csv"},
        },
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    result: dict[str, Any] = run_file(str(path))["by_plan"]["acme-api"]
    return result


def close(live_s: float, simulated_ms: float) -> bool:
    expected_s = simulated_ms / 1000.0
    return abs(live_s - expected_s) <= LATENCY_SHARE * expected_s + LATENCY_FLOOR_S


def test_live_gateway_and_simulator_agree(tmp_path: Path) -> None:
    simulated = simulated_run(tmp_path)
    answers = live_run(tmp_path)
    refused = sum(1 for status, _, _ in answers if status == 429)
    served = [(ttft, e2e) for status, ttft, e2e in answers if status == 200]
    assert len(served) + refused == REQUESTS, [status for status, _, _ in answers]
    assert abs(refused - simulated["refused"]) <= REFUSAL_SLACK, (refused, simulated)
    assert abs(simulated["completed"] - len(served)) <= REFUSAL_SLACK, (len(served), simulated)
    live_ttft = statistics.median(ttft for ttft, _ in served)
    live_e2e = statistics.median(e2e for _, e2e in served)
    assert close(live_ttft, simulated["ttft_ms"]["p50"]), (live_ttft, simulated["ttft_ms"])
    assert close(live_e2e, simulated["e2e_ms"]["p50"]), (live_e2e, simulated["e2e_ms"])
