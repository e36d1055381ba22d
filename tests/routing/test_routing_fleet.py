"""The live fleet as a whole: per-attempt bookkeeping across load and health, and its snapshot."""

from __future__ import annotations

import random

import pytest
from routing_helpers import two_site_fleet

from fleetgate.errors import NotFound
from fleetgate.routing.snapshot import fleet_snapshot

RNG = random.Random(3)


def test_snapshot_is_json_ready() -> None:
    import json

    fleet = two_site_fleet()
    fleet.begin("p1#0", 5, 0.0)
    fleet.finish("p1#0", ok=True, tokens=5, now=0.5, rng=RNG)
    snap = fleet_snapshot(fleet, 1.0)
    text = json.dumps(snap, allow_nan=False)
    assert '"p1#0"' in text
    assert snap["backends"][0]["metrics"]["age_s"] is None
    assert {row["scope"] for row in snap["availability"]} == {"backend", "pool", "site"}


def test_bookkeeping_of_an_unknown_backend_is_not_found() -> None:
    fleet = two_site_fleet()
    with pytest.raises(NotFound, match="no backend 'x'"):
        fleet.begin("x", 1, 0.0)
    with pytest.raises(NotFound, match="no backend 'x'"):
        fleet.first_token("x", 0.1, 0.0)
    with pytest.raises(NotFound, match="no backend 'x'"):
        fleet.finish("x", ok=True, tokens=1, now=0.0, rng=RNG)
