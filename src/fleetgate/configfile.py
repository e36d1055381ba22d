"""Reading a config file and validating it as a pydantic model: the one validator.

Owns `read_utf8_text` (a file's text; unreadable or non-UTF-8 files raise `ConfigurationError`
naming the file, also for the simulator's trace files), `read_yaml` (a file's parsed YAML, read
through it) and `validate` (a parsed mapping, or a part of one under `prefix`, validated as a
model). Every refusal is one `ConfigurationError` that names the file and each bad key path,
e.g. ``plans[2].subscribers: expected a positive integer, got -5``; the CLI turns it into exit
status 2. The fleet file, the planner's demand, orbit and what-if files and the simulator's
scenario all go through here; the value types and the message formatter are in
`fleetgate.config_types`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from fleetgate.config_types import format_validation_error
from fleetgate.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_utf8_text(path: str | os.PathLike[str]) -> str:
    """The text of `path`, line endings as in the file; a file that cannot be read or is not
    UTF-8 raises ConfigurationError naming it (and the line of the first bad byte)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot read ({exc.strerror})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigurationError(f"{file}:{line}: not UTF-8 text ({exc.reason})") from None


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """The parsed YAML in `path`; unreadable or malformed files raise ConfigurationError."""
    file = Path(path)
    text = read_utf8_text(file)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{file}: not valid YAML ({exc})") from exc


def validate(
    model: type[ModelT], data: Any, *, source: str, prefix: str = "", what: str = "input"
) -> ModelT:
    """`data` validated as `model`, or one ConfigurationError listing every bad key path.

    `prefix` is the key path of `data` inside its file (empty: the whole file); `what` names the
    kind of file in the message (``invalid scenario``, ``invalid settings``). An empty document
    is an empty mapping.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        where = prefix or "(top level)"
        raise ConfigurationError(f"{source}: {where}: expected a mapping, got {data!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(
            format_validation_error(exc, source, what=what, prefix=prefix)
        ) from exc
