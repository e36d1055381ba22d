"""Validation of planner inputs (demand files, orbit mappings, what-if files) with key-path errors.

Owns turning a pydantic `ValidationError` into one `ConfigurationError` whose lines read
``plans[2].subscribers: expected a positive integer, got -5``, and reading YAML files for the
planner. Nothing here knows what the models mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from fleetgate.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def key_path(loc: Iterable[int | str], prefix: str = "") -> str:
    """`('plans', 2, 'subscribers')` as ``plans[2].subscribers`` (after `prefix`, if any)."""
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _reason(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {given!r}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping, got {given!r}"
    if kind in {"tuple_type", "list_type"}:
        return f"expected a list, got {given!r}"
    if kind in {"bool_type", "bool_parsing"}:
        return f"expected true or false, got {given!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message}, got {given!r}"


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
        lines = [f"{key_path(err['loc'], prefix)}: {_reason(err)}" for err in exc.errors()]
        raise ConfigurationError(f"{source}: invalid input\n  " + "\n  ".join(lines)) from exc


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML in `path`; unreadable or malformed files raise ConfigurationError."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot read ({exc.strerror})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{file}: not valid YAML ({exc})") from exc
