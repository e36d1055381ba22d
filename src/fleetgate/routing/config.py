"""The `routing:` section of the fleet file: which policy routes each model."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from fleetgate.config_types import Frozen, Name


class RoutingSettings(Frozen):
    """Routing policy per model (by model id); `default` for the rest."""

    default: Name = "least_in_flight"
    per_model: Mapping[str, Name] = Field(default_factory=dict)
