"""Reading scenario YAML and validating it into models, with key-path errors.

Owns turning a pydantic `ValidationError` into one `ConfigurationError` whose lines read
``workload.populations[0].users: expected a non-negative integer, got -3``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from fleetgate.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def key_path(loc: Iterable[int | str]) -> str:
    """`('workload', 'populations', 0, 'users')` as ``workload.populations[0].users``."""
    text = ""
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
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"expected an integer, got {given!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message}, got {given!r}"


def validate(model: type[ModelT], data: Any, *, source: str) -> ModelT:
    """`data` validated as `model`, or one ConfigurationError listing every bad key path."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{source}: expected a mapping at the top level, got {data!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{key_path(err['loc'])}: {_reason(err)}" for err in exc.errors()]
        raise ConfigurationError(f"{source}: invalid scenario\n  " + "\n  ".join(lines)) from exc


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
