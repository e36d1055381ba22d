"""Units of the routing integration: priority from plan or tier, an attempt finishing with the
tokens it began with, the bounded priority wait queue, hedging statistics, the access-log record."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from fleetgate.errors import Overloaded
from fleetgate.gateway.access_log import AccessLog, AccessRecord, AttemptRecord
from fleetgate.gateway.attempt import Attempt
from fleetgate.gateway.call import Call
from fleetgate.gateway.failover import route_request
from fleetgate.gateway.hedge_stats import MIN_SAMPLES, HedgeStats
from fleetgate.gateway.process import Gateway
from fleetgate.gateway.queueing import WaitQueue
from fleetgate.routing.config import HedgingSettings, QueueSettings
from fleetgate.seams import Usage
from fleetgate.settings import settings_from_mapping

MODEL = "m"


def gateway(tmp_path: Path) -> Gateway:
    settings = settings_from_mapping(
        {
            "server": {"state_path": str(tmp_path / "s.db")},
            "models": [{"id": MODEL, "family": "sonnet"}],
            "sites": [
                {
                    "id": "s",
                    "provider": "p",
                    "owner": "o",
                    "location": "x-us",
                    "power_mw": 1,
                    "pools": [
                        {
                            "id": "p",
                            "gpu": "h100-sxm",
                            "gpus": 16,
                            "model": MODEL,
                            "backends": [{"url": "http://127.0.0.1:9"}],
                        }
                    ],
                }
            ],
            "tenants": [
                {"id": "plain"},
                {"id": "free", "tier": "tier-1"},
                {"id": "own", "priority": 7},
            ],
            "routing": {"priority": {"default": 2, "by_tier": {"tier-1": 0}}},
        }
    )
    return Gateway.build(settings)


def call_for(gw: Gateway, tenant_id: str, stream: bool = True) -> Call:
    return Call(
        request_id="req_1",
        api="anthropic",
        endpoint="messages",
        started=time.monotonic(),
        tenant_id=tenant_id,
        tenant=gw.tenants.get(tenant_id),
        model=gw.models[MODEL],
        body={"model": MODEL, "max_tokens": 400, "messages": [{"role": "user", "content": "hi"}]},
        stream=stream,
        max_tokens=400,
        estimated_input_tokens=100,
    )


def test_priority_comes_from_the_tenant_its_tier_or_the_default(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    assert route_request(gw, call_for(gw, "plain")).priority == 2
    assert route_request(gw, call_for(gw, "free")).priority == 0
    assert route_request(gw, call_for(gw, "own")).priority == 7
    gw.keys.close()


def test_finish_releases_the_tokens_begun_with(tmp_path: Path, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="fleetgate.access")
    gw = gateway(tmp_path)
    backend = gw.fleet.index.backends[0]
    gw.fleet.begin(backend.id, 1000, gw.now())  # another request stays in flight
    call = call_for(gw, "plain")
    decision = gw.router.decide(route_request(gw, call), call.tenant, gw.now(), gw.rng)
    record = AccessRecord("req_1", "plain", MODEL, "messages", True, 2)
    attempt = Attempt(gw, call, decision, record)  # begins with 100 + 400 tokens
    assert attempt.tokens == 500
    attempt.finish(Usage(input_tokens=100, output_tokens=7), ok=True)
    position = gw.fleet.index.positions[backend.id]
    assert gw.fleet.load.outstanding_tokens[position] == 1000
    assert gw.fleet.load.in_flight[position] == 1
    report = gw.fleet.health.availability.report(gw.now(), "end_to_end")[0]
    assert (report.successes, report.attempts) == (1, 1)
    logged = json.loads(caplog.records[-1].getMessage())
    assert logged["outcome"] == "ok" and logged["output_tokens"] == 7
    gw.keys.close()


def test_client_leaving_judges_nobody(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    call = call_for(gw, "plain")
    decision = gw.router.decide(route_request(gw, call), call.tenant, gw.now(), gw.rng)
    record = AccessRecord("req_1", "plain", MODEL, "messages", True, 2)
    Attempt(gw, call, decision, record).finish(Usage(), ok=False)
    assert gw.fleet.health.availability.report(gw.now()) == []
    assert gw.fleet.health.breakers[0].state == "closed"
    gw.keys.close()


def overloaded() -> Overloaded:
    return Overloaded("saturated", headers={"retry-after": "1"})


def test_queue_serves_the_higher_priority_first() -> None:
    async def scenario() -> list[str]:
        queue = WaitQueue(QueueSettings(enabled=True, max_wait_s=5.0, max_queued=8))
        room = {"free": 0}
        served: list[str] = []

        def attempt(name: str) -> Any:
            def run() -> str:
                if room["free"] <= 0:
                    raise overloaded()
                room["free"] -= 1
                served.append(name)
                return name

            return run

        low = asyncio.ensure_future(queue.wait_for_room(MODEL, 0, overloaded(), attempt("low")))
        await asyncio.sleep(0.01)
        high = asyncio.ensure_future(queue.wait_for_room(MODEL, 5, overloaded(), attempt("high")))
        await asyncio.sleep(0.12)
        assert queue.waiting(MODEL) == 2
        room["free"] = 1
        queue.notify(MODEL)
        assert await high == "high"
        room["free"] = 1
        queue.notify(MODEL)
        assert await low == "low"
        assert queue.waiting() == 0
        return served

    assert asyncio.run(scenario()) == ["high", "low"]


def test_queue_is_bounded_in_size_and_time() -> None:
    async def scenario() -> None:
        queue = WaitQueue(QueueSettings(enabled=True, max_wait_s=0.2, max_queued=1))

        def never() -> str:
            raise overloaded()

        first = asyncio.ensure_future(queue.wait_for_room(MODEL, 1, overloaded(), never))
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):  # full: refused at once
            await queue.wait_for_room(MODEL, 1, overloaded(), never)
        started = time.monotonic()
        with pytest.raises(Overloaded):
            await first
        assert time.monotonic() - started < 1.0
        assert queue.waiting() == 0

    asyncio.run(scenario())


def test_hedge_delay_is_the_percentile_and_hedges_are_capped() -> None:
    stats = HedgeStats(HedgingSettings(enabled=True, after_percentile=0.9, max_share=0.1))
    for _ in range(MIN_SAMPLES - 1):
        stats.observe(MODEL, 0.1)
    assert stats.delay_s(MODEL) is None  # too few samples
    for n in range(81):
        stats.observe(MODEL, 0.1 if n < 70 else 1.0)
    assert stats.delay_s(MODEL) == 1.0
    for _ in range(20):
        stats.count_eligible(1.0)
    assert [stats.try_hedge(1.0) for _ in range(3)] == [True, True, False]
    assert HedgeStats(HedgingSettings(enabled=False)).delay_s(MODEL) is None


def test_access_log_line_is_json(caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="fleetgate.access")
    record = AccessRecord("req_2", "t", MODEL, "chat", False, 1, outcome="refused")
    record.attempts.append(AttemptRecord("b1", "s1", "status_500"))
    AccessLog().write(record)
    line = json.loads(caplog.records[-1].getMessage())
    assert line["outcome"] == "refused"
    assert line["attempts"] == [{"backend": "b1", "site": "s1", "outcome": "status_500"}]
