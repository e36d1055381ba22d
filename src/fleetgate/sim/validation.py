"""Validating scenario YAML into models, with key-path errors.

Scenario errors read like settings errors
(``workload.populations[0].users: expected a non-negative integer, got -3``): both use the shared
formatter in `fleetgate.config_types`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fleetgate.config_types import format_validation_error, read_yaml
from fleetgate.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)

__all__ = ["read_yaml", "validate"]


def validate(model: type[ModelT], data: Any, *, source: str) -> ModelT:
    """`data` validated as `model`, or one ConfigurationError listing every bad key path."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{source}: expected a mapping at the top level, got {data!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(format_validation_error(exc, source, what="scenario")) from exc
