"""Fault injection of the engine over real HTTP: errors, latency, hangs, dropped streams, health."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from engine_testkit import RunningEngine, running_engine, user

from fleetgate.engine.options import InjectedFaults

MODEL = "fleetgate-sim"
NO_FAULTS = InjectedFaults().as_json()


@pytest.fixture(scope="module")
def shared_engine() -> Iterator[RunningEngine]:
    with running_engine(output_tokens=12) as running:
        yield running


@pytest.fixture
def engine(shared_engine: RunningEngine) -> Iterator[RunningEngine]:
    shared_engine.set_faults(**NO_FAULTS)
    yield shared_engine
    shared_engine.set_faults(**NO_FAULTS)


def test_error_rate_one_answers_500_in_openai_shape(engine: RunningEngine) -> None:
    engine.set_faults(error_rate=1.0)
    with engine.client(timeout=5) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=user("x"))
    assert caught.value.status_code == 500
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "server_error"
    assert "fault injection" in body["message"]
    assert engine.metric("fleetgate:engine_request_failure_total") >= 1


def test_error_draws_are_reproducible_from_the_seed(engine: RunningEngine) -> None:
    def statuses() -> list[int]:
        body = {"model": MODEL, "messages": user("x"), "max_tokens": 1}
        return [
            httpx.post(f"{engine.url}/v1/chat/completions", json=body, timeout=5).status_code
            for _ in range(12)
        ]

    engine.set_faults(error_rate=0.5, seed=7)
    first = statuses()
    engine.set_faults(seed=7)
    assert statuses() == first
    assert set(first) == {200, 500}


def test_close_after_tokens_breaks_the_stream_after_n_tokens(engine: RunningEngine) -> None:
    engine.set_faults(close_after_tokens=3)
    received: list[str] = []
    with engine.client(timeout=5) as client, pytest.raises((httpx.HTTPError, openai.APIError)):
        stream = client.chat.completions.create(model=MODEL, messages=user("x"), stream=True)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert len(received) == 3
    # non-streaming answers are not affected, and the engine keeps serving
    with engine.client(timeout=5) as client:
        answer = client.chat.completions.create(model=MODEL, messages=user("x"))
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 12


def test_hang_times_out_the_client_until_lifted(engine: RunningEngine) -> None:
    engine.set_faults(hang=True)
    with engine.client(timeout=0.5) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=user("x"))
    assert httpx.get(f"{engine.url}/health", timeout=5).status_code == 200
    engine.set_faults(hang=False)
    with engine.client(timeout=5) as client:
        answer = client.chat.completions.create(model=MODEL, messages=user("x"))
    assert answer.choices[0].finish_reason == "stop"


def test_extra_latency_delays_the_first_token(engine: RunningEngine) -> None:
    engine.set_faults(extra_latency_ms=400)
    started = time.monotonic()
    with engine.client(timeout=5) as client:
        client.chat.completions.create(model=MODEL, messages=user("x"), max_tokens=1)
    assert time.monotonic() - started >= 0.4


def test_unhealthy_and_fault_endpoint_validation(engine: RunningEngine) -> None:
    current = engine.set_faults(unhealthy=True)
    assert current == {**NO_FAULTS, "unhealthy": True}
    assert httpx.get(f"{engine.url}/health", timeout=5).status_code == 503
    assert httpx.get(f"{engine.url}/fault", timeout=5).json()["unhealthy"] is True
    for bad in ({"error_rate": 2}, {"hang": "yes"}, {"explode": True}, {"close_after_tokens": 1.5}):
        response = httpx.post(f"{engine.url}/fault", json=bad, timeout=5)
        assert response.status_code == 400, bad
        assert response.json()["error"]["type"] == "invalid_request_error"
    response = httpx.post(f"{engine.url}/fault", content=b"{oops", timeout=5)
    assert response.status_code == 400
    assert httpx.get(f"{engine.url}/fault", timeout=5).json()["unhealthy"] is True


def test_faults_given_at_startup_apply() -> None:
    with running_engine(faults=InjectedFaults(error_rate=1.0, unhealthy=True)) as engine:
        assert httpx.get(f"{engine.url}/health", timeout=5).status_code == 503
        body = {"model": MODEL, "messages": user("x")}
        response = httpx.post(f"{engine.url}/v1/chat/completions", json=body, timeout=5)
        assert response.status_code == 500
