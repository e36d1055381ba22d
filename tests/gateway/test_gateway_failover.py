"""Routing in the live gateway: failover before the first byte, error events after it, charged
once, site headers and access log, per-model policy, placement refusals, drains (API and CLI)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from failover_support import (
    ADMIN_KEY,
    FAMILY_LIMITS,
    WEIGHTS,
    SettleCounter,
    access_records,
    admin,
    admin_key_env,
    clear_faults,
    message_body,
    openai_chunks,
    post_chat,
    post_message,
    reset_fleet_health,
    set_fault,
    sse_events,
)
from gateway_harness import LiveFleet, live_fleet
from typer.testing import CliRunner

from fleetgate.cli.fleet import register
from fleetgate.routing.snapshot import fleet_snapshot


def routing_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    mapping["tenants"] = [
        {"id": "t1", "tier": "big"},
        {"id": "t2", "placement": {"allow_providers": ["nowhere"]}},
    ]
    mapping["limits"] = {
        "tiers": {"big": {"families": {"sonnet": FAMILY_LIMITS, "haiku": FAMILY_LIMITS}}},
        "weights": {"sonnet": WEIGHTS, "haiku": WEIGHTS},
    }
    mapping["server"].update(first_byte_timeout_s=2.0, read_timeout_s=2.0)
    mapping["routing"] = {
        "per_model": {"claude-sonnet-sim": "round_robin"},
        "probes": {"interval_s": 0.2, "timeout_s": 1.0},
        "breaker": {"consecutive_failures": 3, "open_s": 30},
        "retry": {"backoff_s": 0.01, "max_attempts": 3},
    }
    return mapping


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    with (
        admin_key_env(),
        live_fleet(Path(tmp_path_factory.mktemp("failover")), mapping_hook=routing_mapping) as f,
    ):
        yield f


@pytest.fixture(autouse=True)
def healthy(fleet: LiveFleet) -> Iterator[None]:
    clear_faults(fleet)
    reset_fleet_health(fleet)
    yield
    clear_faults(fleet)
    reset_fleet_health(fleet)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_per_model_policy_and_site_headers(fleet: LiveFleet) -> None:
    sites = [post_message(fleet).headers["x-fleetgate-site"] for _ in range(6)]
    assert set(sites) == {"site-0", "site-1"}
    assert all(a != b for a, b in itertools.pairwise(sites))  # round robin
    haiku = post_message(fleet, model="claude-haiku-sim")
    assert haiku.headers["x-fleetgate-site"] == "site-2"
    assert haiku.headers["x-fleetgate-pool"] == "pool-2"
    assert haiku.headers["x-fleetgate-backend"] == "pool-2#0"


def test_access_log_records_each_decision(
    fleet: LiveFleet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="fleetgate.access")
    response = post_message(fleet)
    request_id = response.headers["request-id"]
    wait_for(lambda: any(r["request_id"] == request_id for r in access_records(caplog)))
    record = next(r for r in access_records(caplog) if r["request_id"] == request_id)
    assert record["outcome"] == "ok"
    assert record["decision"]["site"] == response.headers["x-fleetgate-site"]
    assert record["decision"]["policy"] == "round_robin"
    assert record["decision"]["allowed"] == 2
    assert record["tenant"] == "t1" and record["output_tokens"] == 12
    assert record["attempts"] == [
        {
            "backend": record["decision"]["backend"],
            "site": record["decision"]["site"],
            "outcome": "ok",
        }
    ]


def test_500s_fail_over_to_another_site_and_charge_once(
    fleet: LiveFleet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="fleetgate.access")
    counter = SettleCounter(fleet.gateway)
    set_fault(fleet, 0, error_rate=1.0)
    responses = [post_message(fleet) for _ in range(8)]
    assert [r.status_code for r in responses] == [200] * 8
    assert {r.headers["x-fleetgate-site"] for r in responses} == {"site-1"}
    wait_for(lambda: counter.settlements == 8)
    assert counter.admitted == 8 and set(counter.settled.values()) == {1}
    assert all(u.output_tokens == 12 for u in counter.usage)
    wait_for(lambda: len(access_records(caplog)) >= 8)
    failed_over = [r for r in access_records(caplog) if len(r["attempts"]) > 1]
    assert failed_over, "round robin sends some first attempts to the failing site"
    for record in failed_over:
        assert record["attempts"][0] == {
            "backend": "pool-0#0",
            "site": "site-0",
            "outcome": "status_500",
        }
        assert record["attempts"][-1]["site"] == "site-1"
    state = fleet_snapshot(fleet.gateway.fleet, fleet.gateway.now())
    pool0 = next(b for b in state["backends"] if b["id"] == "pool-0#0")
    assert pool0["breaker"]["state"] == "open"  # three consecutive failures


def test_mid_stream_failure_ends_with_error_event_and_charges_once(fleet: LiveFleet) -> None:
    counter = SettleCounter(fleet.gateway)
    for engine in (0, 1):
        set_fault(fleet, engine, close_after_tokens=3)
    anthropic_stream = post_message(fleet, stream=True)
    assert anthropic_stream.status_code == 200
    events = sse_events(anthropic_stream.text)
    assert events[0][0] == "message_start"
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["type"] == "api_error"
    assert "message_stop" not in [name for name, _ in events]
    openai_stream = post_chat(fleet, stream=True)
    chunks = openai_chunks(openai_stream.text)
    assert "error" in chunks[-1] and chunks[-1]["error"]["message"]
    wait_for(lambda: counter.settlements == 2)
    assert counter.admitted == 2 and set(counter.settled.values()) == {1}
    gw = fleet.gateway
    wait_for(lambda: float(gw.fleet.load.in_flight.sum()) == 0)


def test_hang_before_first_byte_fails_over(fleet: LiveFleet) -> None:
    set_fault(fleet, 0, hang=True)
    try:
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda _: post_message(fleet, stream=True), range(4)))
        assert [r.status_code for r in responses] == [200] * 4
        assert {r.headers["x-fleetgate-site"] for r in responses} == {"site-1"}
        for response in responses:
            assert sse_events(response.text)[-1][0] == "message_stop"
    finally:
        set_fault(fleet, 0, hang=False)


def test_placement_refusal_is_a_clear_error(fleet: LiveFleet) -> None:
    key = fleet.gateway.keys.create("t2")
    response = httpx.post(
        fleet.url + "/v1/messages",
        json=message_body(),
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        timeout=10,
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "overloaded_error"
    assert "placement policy (allow_providers=['nowhere'])" in error["message"]


def cli(*args: str) -> str:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, list(args), env={"FLEETGATE_ADMIN_KEY": ADMIN_KEY})
    assert result.exit_code == 0, result.output
    return result.output


def test_drain_and_undrain_a_site_through_cli_and_admin_api(fleet: LiveFleet) -> None:
    out = cli("fleet", "drain", "--site", "site-0", "--url", fleet.url)
    assert "drained site site-0: 1 backend(s) (pool-0#0)" in out
    sites = {post_message(fleet).headers["x-fleetgate-site"] for _ in range(4)}
    assert sites == {"site-1"}
    assert "drained" in cli("fleet", "status", "--url", fleet.url)
    drained = admin(fleet, "POST", "/admin/fleet/drain", {"pool": "pool-1"})
    assert drained.status_code == 200 and drained.json()["backends"] == ["pool-1#0"]
    refused = post_message(fleet)
    assert refused.status_code == 503
    assert "2 drained" in refused.json()["error"]["message"]
    assert admin(fleet, "POST", "/admin/fleet/undrain", {"site": "site-0"}).status_code == 200
    cli("fleet", "undrain", "--pool", "pool-1", "--url", fleet.url)
    sites = {post_message(fleet).headers["x-fleetgate-site"] for _ in range(4)}
    assert sites == {"site-0", "site-1"}


def test_drain_lets_in_flight_streams_finish(fleet: LiveFleet) -> None:
    set_fault(fleet, 0, extra_latency_ms=600)
    set_fault(fleet, 1, extra_latency_ms=600)
    with ThreadPoolExecutor(2) as pool:
        streams = [pool.submit(post_message, fleet, stream=True) for _ in range(2)]
        gw = fleet.gateway
        wait_for(lambda: float(gw.fleet.load.in_flight.sum()) == 2)
        answer = admin(fleet, "POST", "/admin/fleet/drain", {"site": "site-0"}).json()
        assert answer["in_flight"] == 1
        snapshot = admin(fleet, "GET", "/admin/fleet").json()
        row = next(b for b in snapshot["backends"] if b["id"] == "pool-0#0")
        assert row["drain"] == "draining"
        for stream in streams:
            assert sse_events(stream.result().text)[-1][0] == "message_stop"
    wait_for(lambda: float(gw.fleet.load.in_flight.sum()) == 0)
    row = next(
        b for b in admin(fleet, "GET", "/admin/fleet").json()["backends"] if b["id"] == "pool-0#0"
    )
    assert row["drain"] == "drained"


def test_admin_fleet_errors_are_clear(fleet: LiveFleet) -> None:
    both = admin(fleet, "POST", "/admin/fleet/drain", {"site": "site-0", "pool": "pool-0"})
    assert both.status_code == 400 and "exactly one" in both.json()["error"]["message"]
    unknown = admin(fleet, "POST", "/admin/fleet/drain", {"site": "atlantis"})
    assert unknown.status_code == 404 and "atlantis" in unknown.json()["error"]["message"]
    scope = admin(fleet, "GET", "/admin/fleet/availability?scope=galaxy")
    assert scope.status_code == 400
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["fleet", "drain", "--url", fleet.url], env={"FLEETGATE_ADMIN_KEY": ADMIN_KEY}
    )
    assert result.exit_code == 1 and "exactly one of --backend" in result.output
    result = CliRunner().invoke(
        app, ["fleet", "status", "--url", fleet.url], env={"FLEETGATE_ADMIN_KEY": "wrong"}
    )
    assert result.exit_code == 1 and "401" in result.output


def test_breaker_trip_reset_and_availability(fleet: LiveFleet) -> None:
    tripped = admin(fleet, "POST", "/admin/fleet/backends/pool-0%231/trip")
    assert tripped.status_code == 404
    tripped = admin(fleet, "POST", "/admin/fleet/backends/pool-0%230/trip").json()
    assert tripped["breaker"] == "open" and not tripped["routable"]
    assert {post_message(fleet).headers["x-fleetgate-site"] for _ in range(3)} == {"site-1"}
    reset = admin(fleet, "POST", "/admin/fleet/backends/pool-0%230/reset").json()
    assert reset["breaker"] == "closed" and reset["routable"]
    report = admin(fleet, "GET", "/admin/fleet/availability?scope=end_to_end").json()
    assert report["slo"] == 0.999
    windows = report["availability"]
    assert windows and all(w["scope"] == "end_to_end" for w in windows)
    assert windows[0]["attempts"] >= 3
    table = cli("fleet", "availability", "--scope", "end_to_end", "--url", fleet.url)
    assert "end_to_end" in table and "SLO 0.999" in table
    metrics = fleet.gateway.metrics.exposition().decode()
    assert 'fleetgate_availability_ratio{id="all",scope="end_to_end"' in metrics
    assert 'fleetgate_backend_in_flight{backend="pool-0#0"' in metrics


def test_probes_take_an_unhealthy_backend_out_and_back(fleet: LiveFleet) -> None:
    gw = fleet.gateway
    position = gw.fleet.index.positions["pool-1#0"]
    set_fault(fleet, 1, unhealthy=True)
    wait_for(lambda: not gw.fleet.health.probe_ok[position])
    assert {post_message(fleet).headers["x-fleetgate-site"] for _ in range(3)} == {"site-0"}
    set_fault(fleet, 1, unhealthy=False)
    wait_for(lambda: bool(gw.fleet.health.probe_ok[position]))
    assert gw.fleet.load.metrics_fresh(
        gw.fleet.index.indices_of([gw.fleet.index.backends[position]]), gw.now()
    )[0]
