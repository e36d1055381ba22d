"""Limits through the live gateway: exact headers, SDK-visible refusals, usage, live multipliers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from gateway_harness import LiveFleet, live_fleet

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ADMIN_KEY = "admin-secret-for-tests"


def with_limits(mapping: dict[str, Any]) -> dict[str, Any]:
    mapping["tenants"] = [
        {"id": "t1", "tier": "tiny"},
        {"id": "t2", "plan": "small"},
    ]
    mapping["limits"] = {
        "tiers": {
            "tiny": {
                "families": {
                    "sonnet": {"rpm": 3, "itpm": 100_000, "otpm": 20_000},
                    "haiku": {"rpm": 3, "itpm": 100_000, "otpm": 20_000},
                },
            }
        },
        "plans": {"small": {"five_hour": 20_000, "seven_day": 200_000}},
        "weights": {
            "sonnet": {"input": 1, "output": 5, "cache_write": 1.25, "cache_read": 0.1},
            "haiku": {"input": 1, "output": 5, "cache_write": 1.25, "cache_read": 0.1},
        },
    }
    return mapping


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    mp = pytest.MonkeyPatch()
    mp.setenv("FLEETGATE_ADMIN_KEY", ADMIN_KEY)
    try:
        with live_fleet(Path(tmp_path_factory.mktemp("limits")), mapping_hook=with_limits) as f:
            yield f
    finally:
        mp.undo()


def test_tier_headers_then_sdk_rate_limit_error(fleet: LiveFleet) -> None:
    client = anthropic.Anthropic(base_url=fleet.url, api_key=fleet.key, max_retries=0)
    ask = {
        "model": "claude-sonnet-sim",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    raw = client.messages.with_raw_response.create(**ask)  # type: ignore[arg-type]
    headers = raw.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "3"
    assert headers["anthropic-ratelimit-requests-remaining"] == "2"
    assert RFC3339.match(headers["anthropic-ratelimit-requests-reset"])
    assert headers["anthropic-ratelimit-input-tokens-limit"] == "100000"
    assert headers["anthropic-ratelimit-output-tokens-limit"] == "20000"
    assert "anthropic-ratelimit-tokens-remaining" in headers
    for _ in range(2):
        client.messages.create(**ask)  # type: ignore[arg-type]
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**ask)  # type: ignore[arg-type]
    error = caught.value
    assert error.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert int(error.response.headers["retry-after"]) >= 1
    body: Any = error.body
    assert body["error"]["type"] == "rate_limit_error"
    assert "3 requests per minute" in body["error"]["message"]
    client.close()


def test_tier_refusal_on_openai_endpoint(fleet: LiveFleet) -> None:
    client = openai.OpenAI(base_url=fleet.url + "/v1", api_key=fleet.key, max_retries=0)
    ask: Any = {"model": "claude-haiku-sim", "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(openai.RateLimitError) as caught:
        for _ in range(5):
            raw = client.chat.completions.with_raw_response.create(**ask)
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            assert re.match(r"^[0-9.hms]+$", raw.headers["x-ratelimit-reset-requests"])
    body: Any = caught.value.body
    assert caught.value.response.status_code == 429
    assert body["code"] == "rate_limit_exceeded" or body["error"]["code"] == "rate_limit_exceeded"
    client.close()


def test_plan_refusal_is_not_retried_by_the_sdk(fleet: LiveFleet) -> None:
    plan_key = fleet.gateway.keys.create("t2")
    client = anthropic.Anthropic(base_url=fleet.url, api_key=plan_key, max_retries=3)

    def refusals() -> float:
        labels = {"endpoint": "messages", "model": "claude-sonnet-sim", "status": "429"}
        value = fleet.gateway.metrics.registry.get_sample_value("fleetgate_requests_total", labels)
        return value or 0.0

    ask: Any = {
        "model": "claude-sonnet-sim",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "spend my plan " * 2000}],
    }
    raw = client.messages.with_raw_response.create(**ask)
    before = refusals()
    assert raw.headers["anthropic-ratelimit-unified-status"] in {"allowed", "allowed_warning"}
    assert "anthropic-ratelimit-unified-5h-utilization" in raw.headers
    with pytest.raises(anthropic.RateLimitError) as caught:
        for _ in range(20):
            client.messages.create(**ask)
    headers = caught.value.response.headers
    assert headers["x-should-retry"] == "false"
    assert headers["anthropic-ratelimit-unified-status"] == "rejected"
    assert int(headers["retry-after"]) > 60
    assert refusals() - before == 1, "the SDK must not retry a plan refusal"
    usage = httpx.get(fleet.url + "/v1/usage", headers={"x-api-key": plan_key}).json()
    assert usage["five_hour"]["utilization"] > 50  # the next request would not fit
    assert RFC3339.match(usage["five_hour"]["resets_at"])
    client.close()


def test_live_multiplier_takes_effect_on_next_request(fleet: LiveFleet) -> None:
    admin = {"x-api-key": ADMIN_KEY}
    refused = httpx.post(
        fleet.url + "/admin/limits/multipliers",
        json={"plan": "small", "window": "five_hour", "factor": 2},
        headers={"x-api-key": fleet.key},
    )
    assert refused.status_code == 401
    bad = httpx.post(
        fleet.url + "/admin/limits/multipliers",
        json={"plan": "small", "window": "five_hour", "factor": "lots"},
        headers=admin,
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    ok = httpx.post(
        fleet.url + "/admin/limits/multipliers",
        json={"plan": "small", "window": "five_hour", "factor": 2},
        headers=admin,
    )
    assert ok.status_code == 200
    assert ok.json()["multipliers"] == {"small:five_hour": 2.0}
    listed = httpx.get(fleet.url + "/admin/limits/multipliers", headers=admin).json()
    assert listed["multipliers"] == {"small:five_hour": 2.0}
    usage = httpx.get(fleet.url + "/admin/limits/usage/t2", headers=admin).json()
    assert "five_hour" in usage


def test_multiplier_cli_through_a_running_gateway(fleet: LiveFleet) -> None:
    from typer.testing import CliRunner

    from fleetgate.cli.main import build_app

    runner = CliRunner()
    args = ["--url", fleet.url, "--admin-key", ADMIN_KEY]
    result = runner.invoke(
        build_app(), ["limits", "multiplier", "set", "small", "seven_day", "x3", *args]
    )
    assert result.exit_code == 0, result.output
    assert "seven_day" in result.output and "x3" in result.output
    listed = runner.invoke(build_app(), ["limits", "multiplier", "list", *args])
    assert "x3" in listed.output
    refused = runner.invoke(
        build_app(),
        [
            "limits",
            "multiplier",
            "set",
            "small",
            "five_hour",
            "2",
            "--url",
            fleet.url,
            "--admin-key",
            "wrong",
        ],
    )
    assert refused.exit_code == 1
