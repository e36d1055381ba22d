"""The health-checking shell: probes and vLLM metric scrapes through a mock transport."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from one_pool_fleet import one_pool_fleet

from fleetgate.gateway.health_probes import HealthChecker, parse_engine_metrics
from fleetgate.routing.fleet import Fleet
from fleetgate.seams import ManualClock

VLLM_TEXT = """\
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m a{b}"} 3.0
vllm:num_requests_waiting{engine="1",model_name="m"} 2.0
vllm:num_requests_running{engine="0",model_name="m"} 7.0
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.75 1712345678000
vllm:num_requests_swapped 9
not_vllm_metric 12
broken_line
vllm:num_requests_running{engine="1"} NaN
"""


def test_parse_vllm_metrics() -> None:
    metrics = parse_engine_metrics(VLLM_TEXT)
    assert metrics is not None
    assert (metrics.waiting, metrics.running, metrics.kv_usage) == (5.0, 7.0, 0.75)
    legacy = parse_engine_metrics("vllm:gpu_cache_usage_perc 0.5\nvllm:num_requests_waiting 1")
    assert legacy is not None and legacy.kv_usage == 0.5 and legacy.waiting == 1
    assert parse_engine_metrics("# nothing\nprocess_cpu_seconds_total 3\n") is None
    assert parse_engine_metrics("") is None


def _handler(request: httpx.Request) -> httpx.Response:
    port = request.url.port
    if port == 9000:  # healthy vLLM
        if request.url.path == "/health":
            return httpx.Response(200)
        return httpx.Response(200, text=VLLM_TEXT)
    if port == 9001:  # a hosted API: no /health, no /metrics, but up
        return httpx.Response(404)
    if port == 9002:
        return httpx.Response(503)
    raise httpx.ConnectError("refused", request=request)


def _fleet() -> Fleet:
    return one_pool_fleet("p", 4, {"probes": {"unhealthy_after": 2, "healthy_after": 1}})


def test_checker_feeds_probes_and_metrics() -> None:
    fleet = _fleet()
    clock = ManualClock(100.0)

    async def scenario() -> list[dict[str, bool]]:
        transport = httpx.MockTransport(_handler)
        async with httpx.AsyncClient(transport=transport) as client:
            checker = HealthChecker(fleet, client, clock, random.Random(1))
            first = await checker.check_all()
            clock.advance(1.0)
            second = await checker.check_all()
            return [first, second]

    first, second = asyncio.run(scenario())
    assert first == {"p#0": True, "p#1": True, "p#2": False, "p#3": False}
    assert second == first
    i = fleet.index.positions["p#0"]
    assert (fleet.load.waiting[i], fleet.load.running[i], fleet.load.kv_usage[i]) == (
        5.0,
        7.0,
        0.75,
    )
    assert fleet.load.metrics_at[i] == 101.0
    assert fleet.load.metrics_at[fleet.index.positions["p#1"]] == float(
        "-inf"
    )  # never scraped, not stale
    assert list(fleet.health.routable) == [True, True, False, False]


def test_run_stops_when_told() -> None:
    fleet = _fleet()
    clock = ManualClock(0.0)
    calls = 0

    async def scenario() -> None:
        stop = asyncio.Event()
        enough = asyncio.Event()

        def counting(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls >= 16:  # two rounds of 4 probes and 4 scrapes: the loop went round
                enough.set()
            return httpx.Response(200, text="")

        async with httpx.AsyncClient(transport=httpx.MockTransport(counting)) as client:
            settings = fleet.routing.probes.model_copy(update={"interval_s": 0.01})
            checker = HealthChecker(fleet, client, clock, random.Random(1), settings)
            task = asyncio.create_task(checker.run(stop))
            await asyncio.wait_for(enough.wait(), timeout=10)
            stop.set()
            await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert calls >= 16


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors_fail_the_probe(status: int) -> None:
    fleet = _fleet()

    async def scenario() -> bool:
        transport = httpx.MockTransport(lambda request: httpx.Response(status))
        async with httpx.AsyncClient(transport=transport) as client:
            return await HealthChecker(
                fleet, client, ManualClock(), random.Random(1)
            ).check_backend(fleet.index.backends[0])

    assert asyncio.run(scenario()) is False
