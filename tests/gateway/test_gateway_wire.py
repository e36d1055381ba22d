"""Wire conformance over raw HTTP: SSE event order, error shapes, bad input, disconnects."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_harness import LiveFleet, live_fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    with live_fleet(Path(tmp_path_factory.mktemp("wire"))) as running:
        yield running


def headers(fleet: LiveFleet, **extra: str) -> dict[str, str]:
    return {"x-api-key": fleet.key, "anthropic-version": "2023-06-01", **extra}


def message_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-sim",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hello"}],
    }
    body.update(overrides)
    return body


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = json.loads("".join(line[6:] for line in lines if line.startswith("data: ")))
        events.append((name, data))
    return events


def test_anthropic_stream_event_order(fleet: LiveFleet) -> None:
    response = httpx.post(
        fleet.url + "/v1/messages", json=message_body(stream=True), headers=headers(fleet)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert set(names[3:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["content"] == [] and start["role"] == "assistant"
    assert start["model"] == "claude-sonnet-sim"
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 12


def test_every_answer_has_a_request_id(fleet: LiveFleet) -> None:
    for response in (
        httpx.get(fleet.url + "/"),
        httpx.head(fleet.url + "/"),
        httpx.get(fleet.url + "/nope"),
        httpx.post(fleet.url + "/v1/messages", content=b"{", headers=headers(fleet)),
    ):
        assert response.headers["request-id"].startswith("req_")
        assert response.status_code < 500


@pytest.mark.parametrize(
    ("content", "content_type", "status", "kind", "needle"),
    [
        (b"{not json", "application/json", 400, "invalid_request_error", "JSON"),
        (b'{"model": 5}', "application/json", 400, "invalid_request_error", "model"),
        (b"\xff\xfe\xfa", "application/json", 400, "invalid_request_error", "UTF-8"),
        (b"model=x", "application/x-www-form-urlencoded", 415, "invalid_request_error", "JSON"),
        (b"[1, 2]", "application/json", 400, "invalid_request_error", "object"),
    ],
)
def test_malformed_bodies(
    fleet: LiveFleet, content: bytes, content_type: str, status: int, kind: str, needle: str
) -> None:
    response = httpx.post(
        fleet.url + "/v1/messages",
        content=content,
        headers=headers(fleet, **{"content-type": content_type}),
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert needle.lower() in body["error"]["message"].lower()
    assert body["request_id"] == response.headers["request-id"]


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": "ten"}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"temperature": 3}, "temperature"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_invalid_fields(fleet: LiveFleet, overrides: dict[str, Any], needle: str) -> None:
    body = message_body(**overrides)
    body = {k: v for k, v in body.items() if v is not None}
    response = httpx.post(fleet.url + "/v1/messages", json=body, headers=headers(fleet))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert needle in response.json()["error"]["message"]


def test_oversized_body_is_413(fleet: LiveFleet) -> None:
    huge = message_body(messages=[{"role": "user", "content": "x" * 3_000_000}])
    response = httpx.post(fleet.url + "/v1/messages", json=huge, headers=headers(fleet))
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


def test_missing_and_unknown_keys(fleet: LiveFleet) -> None:
    response = httpx.post(fleet.url + "/v1/messages", json=message_body())
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    response = httpx.post(
        fleet.url + "/v1/chat/completions",
        json={"model": "claude-haiku-sim", "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": "Bearer fg-123456789012-wrong"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_openai_errors_have_openai_shape(fleet: LiveFleet) -> None:
    response = httpx.post(
        fleet.url + "/v1/chat/completions",
        json={"model": "claude-haiku-sim", "messages": "nope"},
        headers={"authorization": f"Bearer {fleet.key}"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"


def test_claude_code_request_surface(fleet: LiveFleet) -> None:
    """What coding agents send on every call is accepted, not refused."""
    tools = [
        {
            "name": f"tool_{i}",
            "description": "does a thing " * 20,
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
            **({"cache_control": {"type": "ephemeral"}} if i == 24 else {}),
        }
        for i in range(25)
    ]
    history = []
    for turn in range(40):
        history.append({"role": "user", "content": [{"type": "text", "text": "file " * 700}]})
        history.append({"role": "assistant", "content": f"ok {turn}"})
    history.append(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "go", "cache_control": {"type": "ephemeral", "ttl": "5m"}}
            ],
        }
    )
    body = message_body(
        max_tokens=2000,
        system=[
            {"type": "text", "text": "You are a coding agent."},
            {"type": "text", "text": "Rules " * 200, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Env info"},
        ],
        messages=history,
        tools=tools,
        thinking={"type": "enabled", "budget_tokens": 1024},
        context_management={"edits": [{"type": "clear_tool_uses_20250919"}]},
        metadata={"user_id": "user_abc"},
        service_tier="auto",
        stream=True,
    )
    raw = json.dumps(body).encode()
    assert len(raw) > 100_000
    response = httpx.post(
        fleet.url + "/v1/messages?beta=true",
        content=raw,
        headers=headers(
            fleet,
            **{
                "content-type": "application/json",
                "anthropic-beta": "interleaved-thinking-2025-05-14,context-management-2025-06-27",
            },
        ),
        timeout=30,
    )
    assert response.status_code == 200, response.text[:500]
    assert sse_events(response.text)[-1][0] == "message_stop"


def test_client_disconnect_frees_the_engine(fleet: LiveFleet) -> None:
    """A client that goes away mid-stream cancels the upstream request."""
    body = message_body(max_tokens=4000, stream=True, model="claude-haiku-sim")
    body["messages"] = [{"role": "user", "content": "long please"}]
    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "POST",
            fleet.url + "/v1/chat/completions",
            json={
                "model": "claude-haiku-sim",
                "max_tokens": 4000,
                "stream": True,
                "ignore_eos": True,
                "messages": [{"role": "user", "content": "long please"}],
            },
            headers={"authorization": f"Bearer {fleet.key}"},
        ) as response,
    ):
        assert response.status_code == 200
        for _ in response.iter_bytes():
            break
    deadline = time.monotonic() + 5
    running = None
    while time.monotonic() < deadline:
        metrics = httpx.get(fleet.engine_url(2) + "/metrics").text
        running = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("vllm:num_requests_running")
        )
        if running == 0:
            break
        time.sleep(0.05)
    assert running == 0


def test_metrics_exposed(fleet: LiveFleet) -> None:
    httpx.post(fleet.url + "/v1/messages", json=message_body(), headers=headers(fleet))
    text = httpx.get(fleet.url + "/metrics").text
    for name in (
        "fleetgate_requests_total",
        "fleetgate_request_seconds_bucket",
        "fleetgate_time_to_first_token_seconds",
        "fleetgate_tokens_total",
        "fleetgate_in_flight_requests",
        "fleetgate_backend_requests_total",
    ):
        assert name in text
