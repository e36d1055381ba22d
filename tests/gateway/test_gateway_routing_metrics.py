"""The Prometheus collector of fleet state and availability."""

from __future__ import annotations

import random

import pytest
from one_pool_fleet import one_pool_fleet
from prometheus_client import CollectorRegistry, generate_latest

from fleetgate.gateway.routing_metrics import FleetCollector
from fleetgate.seams import ManualClock


def test_collector_exposes_load_health_and_availability() -> None:
    fleet = one_pool_fleet("p1", 2)
    rng = random.Random(1)
    clock = ManualClock(10.0)
    for n in range(10):
        fleet.begin("p1#0", 10, 10.0)
        fleet.finish("p1#0", ok=n != 0, tokens=10, now=10.0, rng=rng)
    fleet.health.record_request(ok=True, now=10.0)
    fleet.begin("p1#1", 10, 10.0)
    fleet.load.record_metrics("p1#1", waiting=1, running=2, kv_usage=0.4, now=10.0)
    fleet.health.drain("backend", "p1#0", 10.0)
    fleet.health.trip("p1#1", 10.0, rng)
    registry = CollectorRegistry()
    registry.register(FleetCollector(fleet, clock))
    text = generate_latest(registry).decode()
    assert 'fleetgate_backend_in_flight{backend="p1#1",pool="p1",site="s1"} 1.0' in text
    assert 'fleetgate_backend_drained{backend="p1#0",pool="p1",site="s1"} 1.0' in text
    assert 'fleetgate_backend_circuit_state{backend="p1#1",pool="p1",site="s1"} 2.0' in text
    assert 'fleetgate_backend_routable{backend="p1#0",pool="p1",site="s1"} 0.0' in text
    assert 'fleetgate_backend_kv_cache_usage{backend="p1#1",pool="p1",site="s1"} 0.4' in text
    assert 'fleetgate_availability_ratio{id="p1",scope="pool",window_s="300"} 0.9' in text
    assert 'fleetgate_availability_nines{id="p1",scope="pool",window_s="300"} 1.0' in text
    burn = 'fleetgate_error_budget_burn_rate{id="p1",scope="pool",window_s="300"} '
    value = next(line for line in text.splitlines() if line.startswith(burn))
    assert float(value.removeprefix(burn)) == pytest.approx(100.0)  # 10 % over 0.1 % allowed
    assert 'fleetgate_availability_ratio{id="all",scope="end_to_end",window_s="300"} 1.0' in text
    assert 'fleetgate_availability_nines{id="all"' not in text  # perfect: no finite nines
    assert 'scope="backend"' not in text
    clock.advance(100.0)  # the scrape is now stale: KV usage is no longer reported
    assert "fleetgate_backend_kv_cache_usage{" not in generate_latest(registry).decode()
