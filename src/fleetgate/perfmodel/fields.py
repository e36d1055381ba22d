"""Checked reading of catalog and calibration fields: every refusal names its key path."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleetgate.errors import ConfigurationError

_MISSING = object()


def _get(entry: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
    value = entry.get(key, default)
    if value is _MISSING:
        raise ConfigurationError(f"{path}.{key}: required field is missing")
    return value


def positive_number(
    entry: Mapping[str, Any], key: str, path: str, default: Any = _MISSING
) -> float:
    """A finite number > 0 at `entry[key]`."""
    value = _get(entry, key, path, default)
    return check_positive(value, f"{path}.{key}")


def optional_positive_number(entry: Mapping[str, Any], key: str, path: str) -> float | None:
    """A finite number > 0 at `entry[key]`, or None when absent or null."""
    value = entry.get(key)
    return None if value is None else check_positive(value, f"{path}.{key}")


def _finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def check_positive(value: Any, path: str) -> float:
    """`value` as a finite float > 0, or ConfigurationError naming `path`."""
    if not _finite_number(value) or value <= 0:
        raise ConfigurationError(f"{path}: expected a positive number, got {value!r}")
    return float(value)


def check_fraction(value: Any, path: str) -> float:
    """`value` as a float in (0, 1], or ConfigurationError naming `path`."""
    number = check_positive(value, path)
    if number > 1.0:
        raise ConfigurationError(f"{path}: expected a fraction in (0, 1], got {value!r}")
    return number


def check_non_negative(value: Any, path: str) -> float:
    """`value` as a finite float >= 0, or ConfigurationError naming `path`."""
    if not _finite_number(value) or value < 0:
        raise ConfigurationError(f"{path}: expected a non-negative number, got {value!r}")
    return float(value)


def check_count(value: Any, path: str, *, minimum: int = 1) -> int:
    """`value` as an int >= `minimum`, or ConfigurationError naming `path`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{path}: expected an integer >= {minimum}, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ConfigurationError(f"{path}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{path}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def count(entry: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> int:
    """An integer >= 1 at `entry[key]`."""
    return check_count(_get(entry, key, path, default), f"{path}.{key}")


def text(entry: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> str:
    """A non-empty string at `entry[key]`."""
    value = _get(entry, key, path, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{path}.{key}: expected a non-empty string, got {value!r}")
    return value.strip()


def names(entry: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    """A list of non-empty strings at `entry[key]` (absent: empty), lower-cased."""
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigurationError(f"{path}.{key}: expected a list of names, got {value!r}")
    return tuple(v.strip().lower() for v in value)


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    """`value` as a mapping with string keys, or ConfigurationError naming `path`."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigurationError(f"{path}: expected a mapping, got {type(value).__name__}")
    return value
