"""Validation of planner inputs (demand files, orbit mappings, what-if files) with key-path errors.

Owns validating a parsed mapping as a pydantic model, anywhere inside a larger file (`prefix`), so
that one `ConfigurationError` lists lines such as
``plans[2].subscribers: expected a positive integer, got -5``. The formatting and YAML reading
are shared with the fleet settings (`fleetgate.config_types`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fleetgate.config_types import format_validation_error
from fleetgate.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def validate(model: type[ModelT], data: Any, *, source: str, prefix: str = "") -> ModelT:
    """`data` validated as `model`, or one ConfigurationError listing every bad key path."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        where = prefix or "(top level)"
        raise ConfigurationError(f"{source}: {where}: expected a mapping, got {data!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc, source, what="input", prefix=prefix)
        raise ConfigurationError(message) from exc
