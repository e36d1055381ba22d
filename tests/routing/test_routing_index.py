"""The static index of a fleet: backends from settings, positions, per-model candidates."""

from __future__ import annotations

import numpy as np
import pytest
from routing_helpers import make_settings, pool, site, two_site_fleet

from fleetgate.errors import ConfigurationError, NotFound
from fleetgate.routing.fleet import Fleet
from fleetgate.routing.index import FleetIndex


def test_backends_from_settings() -> None:
    fleet = two_site_fleet()
    ids = [b.id for b in fleet.index.backends]
    assert ids == ["p1#0", "p1#1", "p2#0", "p3#0"]
    p1 = fleet.index.backend("p1#1")
    assert p1.capacity_weight == 1.0  # 16 GPUs / TP 8 = 2 replicas over 2 backends
    assert fleet.index.backend("p2#0").capacity_weight == 8.0
    orbital = fleet.index.backend("p3#0")
    assert orbital.orbital and orbital.network_rtt_s == pytest.approx(0.04)
    assert orbital.dedicated_to == frozenset({"t1"})
    assert orbital.jurisdiction == "xx"  # from the location's suffix
    assert fleet.index.backend("p1#0").jurisdiction == "us"
    assert [b.id for b in fleet.index.backends_for_model("m")] == ids
    assert len(fleet.index.backends_for_model("nope")) == 0
    with pytest.raises(NotFound, match="no backend 'x'"):
        fleet.index.backend("x")


def test_duplicate_backend_ids_name_the_key_path() -> None:
    p = pool("p1", backends=2)
    p["backends"] = [
        {"url": "http://127.0.0.1:1", "id": "b"},
        {"url": "http://127.0.0.1:2", "id": "b"},
    ]
    with pytest.raises(ConfigurationError, match=r"sites\[0\]\.pools\[0\]\.backends\[1\]\.id"):
        Fleet.from_settings(make_settings([site("s", [p])]))


def test_direct_construction_refuses_duplicate_ids() -> None:
    backend = two_site_fleet().index.backends[0]
    with pytest.raises(ConfigurationError, match="unique"):
        FleetIndex([backend, backend])


def test_given_capacity_weight_wins() -> None:
    p = pool("p1")
    p["backends"] = [{"url": "http://127.0.0.1:1", "capacity_weight": 2.5}]
    fleet = Fleet.from_settings(make_settings([site("s", [p])]))
    assert fleet.index.backends[0].capacity_weight == 2.5


def test_indices_of_plain_sequence_matches_candidates() -> None:
    fleet = two_site_fleet()
    cands = fleet.index.backends_for_model("m")
    assert np.array_equal(fleet.index.indices_of(list(cands)), cands.indices)
    assert [b.id for b in cands[1:3]] == ["p1#1", "p2#0"]
    assert "p3#0" in repr(cands)
