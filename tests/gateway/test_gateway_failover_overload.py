"""Overload in the live gateway: 529 (OpenAI 503) with retry-after when every allowed backend is
saturated, the lowest priority class shed first, bounded queueing, hedging of slow answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from failover_support import (
    FAMILY_LIMITS,
    WEIGHTS,
    access_records,
    clear_faults,
    message_body,
    post_chat,
    post_message,
    reset_fleet_health,
    set_fault,
    sse_events,
)
from gateway_harness import LiveFleet, live_fleet

QUEUE_WAIT_S = 1.0


def overload_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    mapping["tenants"] = [{"id": "t1", "tier": "big"}, {"id": "low", "tier": "free"}]
    families = {"sonnet": FAMILY_LIMITS, "haiku": FAMILY_LIMITS}
    mapping["limits"] = {
        "tiers": {"big": {"families": families}, "free": {"families": families}},
        "weights": {"sonnet": WEIGHTS, "haiku": WEIGHTS},
    }
    mapping["routing"] = {
        "saturation": {"max_in_flight_per_replica": 2, "retry_after_s": 3},
        "priority": {"by_tier": {"big": 2, "free": 0}, "saturation_share": {0: 0.5}},
        "queue": {"enabled": True, "max_wait_s": QUEUE_WAIT_S},
        "hedging": {"enabled": True, "after_percentile": 0.5, "max_share": 1.0},
        "probes": {"interval_s": 0.5},
    }
    return mapping


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    path = Path(tmp_path_factory.mktemp("overload"))
    with live_fleet(path, mapping_hook=overload_mapping) as running:
        yield running


@pytest.fixture(autouse=True)
def healthy(fleet: LiveFleet) -> Iterator[None]:
    clear_faults(fleet)
    reset_fleet_health(fleet)
    yield
    clear_faults(fleet)
    wait_for(lambda: float(fleet.gateway.fleet.load.in_flight.sum()) == 0, 20)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def occupy(fleet: LiveFleet, pool: ThreadPoolExecutor, count: int) -> list[Future[httpx.Response]]:
    """`count` slow streams in flight (the engines were slowed down by the caller)."""
    streams = [pool.submit(post_message, fleet, stream=True) for _ in range(count)]
    wait_for(lambda: float(fleet.gateway.fleet.load.in_flight.sum()) == count)
    return streams


def test_saturated_fleet_answers_529_and_openai_503_after_the_queue_bound(
    fleet: LiveFleet,
) -> None:
    for engine in (0, 1):
        set_fault(fleet, engine, extra_latency_ms=QUEUE_WAIT_S * 1000 + 1500)
    with ThreadPoolExecutor(6) as pool:
        streams = occupy(fleet, pool, 4)
        started = time.monotonic()
        refused = pool.submit(post_message, fleet)
        refused_chat = pool.submit(post_chat, fleet)
        anthropic_answer, openai_answer = refused.result(), refused_chat.result()
        waited = time.monotonic() - started
        assert anthropic_answer.status_code == 529
        assert anthropic_answer.json()["error"]["type"] == "overloaded_error"
        assert "saturated" in anthropic_answer.json()["error"]["message"]
        assert int(anthropic_answer.headers["retry-after"]) >= 3
        assert openai_answer.status_code == 503
        assert int(openai_answer.headers["retry-after"]) >= 3
        assert waited >= QUEUE_WAIT_S * 0.9  # they waited in the bounded queue first
        for stream in streams:
            assert sse_events(stream.result().text)[-1][0] == "message_stop"


def test_lowest_priority_class_is_shed_first(fleet: LiveFleet) -> None:
    low_key = fleet.gateway.keys.create("low")
    for engine in (0, 1):
        set_fault(fleet, engine, extra_latency_ms=QUEUE_WAIT_S * 1000 + 1500)
    with ThreadPoolExecutor(4) as pool:
        streams = occupy(fleet, pool, 2)  # one per backend: half the per-replica cap
        low = pool.submit(
            httpx.post,
            fleet.url + "/v1/messages",
            json=message_body(),
            headers={"x-api-key": low_key, "anthropic-version": "2023-06-01"},
            timeout=30,
        )
        high = pool.submit(post_message, fleet, stream=True)
        assert low.result().status_code == 529
        assert "priority 0 sheds at 50%" in low.result().json()["error"]["message"]
        assert high.result().status_code == 200
        for stream in [*streams, high]:
            assert sse_events(stream.result().text)[-1][0] == "message_stop"


def test_queued_request_is_served_when_room_frees(
    fleet: LiveFleet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="fleetgate.access")
    for engine in (0, 1):
        set_fault(fleet, engine, extra_latency_ms=700)
    with ThreadPoolExecutor(5) as pool:
        streams = occupy(fleet, pool, 4)
        queued = pool.submit(post_message, fleet, stream=True).result()
        assert queued.status_code == 200
        assert sse_events(queued.text)[-1][0] == "message_stop"
        for stream in streams:
            assert stream.result().status_code == 200
    request_id = queued.headers["request-id"]
    wait_for(lambda: any(r["request_id"] == request_id for r in access_records(caplog)))
    record = next(r for r in access_records(caplog) if r["request_id"] == request_id)
    assert record["queued_s"] > 0 and record["outcome"] == "ok"


def test_slow_non_streaming_answer_is_hedged_on_another_site(
    fleet: LiveFleet, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(24):  # answer times for the hedging percentile
        assert post_message(fleet).status_code == 200
    caplog.set_level("INFO", logger="fleetgate.access")
    set_fault(fleet, 0, extra_latency_ms=8000)
    started = time.monotonic()
    answers = [post_message(fleet) for _ in range(8)]  # ties are random: some go to site-0
    assert time.monotonic() - started < 7.0  # none waited for the slow engine
    assert [a.status_code for a in answers] == [200] * 8
    assert {a.headers["x-fleetgate-site"] for a in answers} == {"site-1"}
    ids = {a.headers["request-id"] for a in answers}
    wait_for(lambda: len([r for r in access_records(caplog) if r["request_id"] in ids]) == 8)
    hedged = [r for r in access_records(caplog) if r["request_id"] in ids and r["hedged"]]
    assert hedged
    for record in hedged:
        outcomes = {(a["site"], a["outcome"]) for a in record["attempts"]}
        assert outcomes == {("site-0", "cancelled"), ("site-1", "ok")}
