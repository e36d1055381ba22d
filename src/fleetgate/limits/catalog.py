"""The effective plans, tiers and token weights: shipped data files overlaid with `limits:`.

Shipped data lives in `fleetgate/limits/data/*.yaml` (each names its sources); a plan, tier or
family weight given in the fleet file replaces the shipped entry of the same name. Reading the
data files is the only I/O here and happens once, when a `LimitsCatalog` is built at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from fleetgate.errors import ConfigurationError
from fleetgate.limits.config import (
    LimitsSettings,
    PlanSettings,
    TierSettings,
    TokenWeights,
)

DEFAULT_FAMILY = "default"
ModelT = TypeVar("ModelT", bound=BaseModel)


def _data(name: str) -> Mapping[str, Any]:
    path = resources.files("fleetgate.limits").joinpath("data", name)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"fleetgate/limits/data/{name}: cannot load ({exc})") from exc
    if not isinstance(loaded, Mapping):
        raise ConfigurationError(f"fleetgate/limits/data/{name}: expected a mapping")
    return loaded


def _shipped_models(filename: str, section: str, model: type[ModelT]) -> dict[str, ModelT]:
    """Every entry of `section` in the shipped data file, validated as `model`."""
    try:
        return {name: model.model_validate(body) for name, body in _data(filename)[section].items()}
    except (ValidationError, KeyError, AttributeError) as exc:
        raise ConfigurationError(f"fleetgate/limits/data/{filename}: invalid ({exc})") from exc


def shipped_tiers() -> dict[str, TierSettings]:
    """The published tier tables (v2025 Tier 1-4, the raised Tier 4, v2026 Start/Build/Scale)."""
    return _shipped_models("tiers.yaml", "tiers", TierSettings)


def shipped_weights() -> dict[str, TokenWeights]:
    """Cost units per token for each family (API list prices, micro-dollars per token)."""
    return _shipped_models("weights.yaml", "weights", TokenWeights)


def shipped_plans(limits: LimitsSettings) -> dict[str, PlanSettings]:
    """The profile's plans, each a published multiple of `limits.plan_base`."""
    try:
        table = _data("plans.yaml")["profiles"][limits.profile]
        plans = {}
        for name, body in table.items():
            plans[name] = PlanSettings(
                five_hour=limits.plan_base.five_hour * float(body["five_hour"]),
                seven_day=limits.plan_base.seven_day * float(body["seven_day"]),
                family_weekly=dict(body.get("family_weekly", {})),
                peak_metering=bool(body.get("peak_metering", False)),
                source=f"fleetgate/limits/data/plans.yaml ({limits.profile})",
            )
    except (ValidationError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"fleetgate/limits/data/plans.yaml: invalid ({exc})") from exc
    return plans


@dataclass(frozen=True, slots=True)
class LimitsCatalog:
    """Every plan, tier and weight in effect, by name."""

    plans: Mapping[str, PlanSettings]
    tiers: Mapping[str, TierSettings]
    weights: Mapping[str, TokenWeights]

    @classmethod
    def from_settings(cls, limits: LimitsSettings) -> LimitsCatalog:
        """Shipped data overlaid with the fleet file's `limits:` entries."""
        catalog = cls(
            plans={**shipped_plans(limits), **limits.plans},
            tiers={**shipped_tiers(), **limits.tiers},
            weights={**shipped_weights(), **limits.weights},
        )
        catalog.check()
        return catalog

    def check(self) -> None:
        """Refuse tiers whose default family names a row they do not have."""
        for name, tier in self.tiers.items():
            if tier.default_family is not None and tier.default_family not in tier.families:
                raise ConfigurationError(
                    f"limits.tiers.{name}.default_family: expected one of "
                    f"{sorted(tier.families)}, got {tier.default_family!r}"
                )
        if DEFAULT_FAMILY not in self.weights:
            raise ConfigurationError("limits.weights: a 'default' family is required")

    def weights_for(self, family: str) -> TokenWeights:
        """The token weights of `family` (or the default family's)."""
        return self.weights.get(family) or self.weights[DEFAULT_FAMILY]

    def tier_row(self, tier: TierSettings, family: str) -> tuple[str, Any] | None:
        """(bucket family, limits row) of `family` in `tier`, or None when it has no row."""
        row = tier.families.get(family)
        if row is not None:
            return family, row
        if tier.default_family is None:
            return None
        return family, tier.families[tier.default_family]
