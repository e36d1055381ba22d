"""The `routing:` section: defaults and errors that name the key path."""

from __future__ import annotations

from typing import Any

import pytest
from routing_helpers import make_settings, pool, site

from fleetgate.errors import ConfigurationError
from fleetgate.routing.config import POLICY_NAMES, RoutingSettings
from fleetgate.routing.policies import POLICIES


def test_defaults_are_sane() -> None:
    routing = RoutingSettings()
    assert routing.default == "least_in_flight"
    assert routing.policy_for("anything") == "least_in_flight"
    assert 0 < routing.availability.slo < 1
    assert routing.priority.saturation_share[0] < 1.0
    assert set(POLICY_NAMES) == set(POLICIES)


def test_per_model_policy() -> None:
    settings = make_settings([site("s", [pool("p")])], routing={"per_model": {"m": "affinity"}})
    assert settings.routing.policy_for("m") == "affinity"
    assert settings.routing.policy_for("other") == "least_in_flight"


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        ({"default": "fastest"}, "routing.default: expected one of least_in_flight"),
        ({"per_model": {"m": 3}}, "routing.per_model.m: expected one of"),
        ({"affinity_fallback": "affinity"}, "routing.affinity_fallback: expected a policy other"),
        (
            {"saturation": {"max_kv_usage": 1.5}},
            "routing.saturation.max_kv_usage: expected a share",
        ),
        ({"availability": {"slo": 1}}, "routing.availability.slo: expected an SLO strictly"),
        ({"breaker": {"open_s": "soon"}}, "routing.breaker.open_s: expected a positive number"),
        ({"probes": {"interval": 1}}, "routing.probes.interval: unknown key"),
        ({"per_model": {"ghost": "power_of_two"}}, "routing.per_model.ghost: unknown model"),
        ({"affinity_load_factor": 0.5}, "routing.affinity_load_factor: expected a number of at"),
        ({"saturation": {"max_kv_usage": 0}}, "max_kv_usage: expected a share above 0"),
        ({"availability": {"windows_s": []}}, "windows_s: expected a non-empty list"),
        ({"priority": {"saturation_share": {"0": 0}}}, "saturation_share.0: expected a share"),
    ],
)
def test_errors_name_the_key_path(routing: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_settings([site("s", [pool("p")])], routing=routing)
    assert expected in caught.value.message
