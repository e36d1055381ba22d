"""Path-aware field checks with the Anthropic Messages API's (pydantic) error wording.

Every check takes the value and its dotted path (``messages.0.content.1.text``) and either returns
the value typed or raises `InvalidRequest` with ``path: message`` and `param` set to the path.
Shared by `fleetgate.api.schema_anthropic` and `fleetgate.api.schema_anthropic_blocks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from fleetgate.errors import InvalidRequest


def fail(path: str, message: str) -> NoReturn:
    """Raise the Anthropic-style error ``path: message`` with `param` set to the path."""
    raise InvalidRequest(f"{path}: {message}" if path else message, param=path or None)


def join(path: str, key: str | int) -> str:
    """The dotted path of `key` below `path` (``messages.0.content``)."""
    return f"{path}.{key}" if path else str(key)


def one_of(options: tuple[str, ...]) -> str:
    """Pydantic's wording for a literal: ``'a', 'b' or 'c'``."""
    quoted = [f"'{option}'" for option in options]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def required(obj: dict[str, Any], key: str, path: str) -> Any:
    """``obj[key]``; a missing key (or ``null``) is ``Field required``."""
    value = obj.get(key)
    if value is None:
        fail(join(path, key), "Field required")
    return value


def string(value: Any, path: str) -> str:
    """`value` as a string, or ``Input should be a valid string``."""
    if not isinstance(value, str):
        fail(path, "Input should be a valid string")
    return value


def integer(value: Any, path: str) -> int:
    """`value` as an int (an integral float is accepted, a boolean is not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        fail(path, "Input should be a valid integer")
    return value


def number(value: Any, path: str, low: float, high: float | None) -> float:
    """`value` as a number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(path, "Input should be a valid number")
    if value < low:
        fail(path, f"Input should be greater than or equal to {low:g}")
    if high is not None and value > high:
        fail(path, f"Input should be less than or equal to {high:g}")
    return float(value)


def boolean(value: Any, path: str) -> bool:
    """`value` as a boolean, or ``Input should be a valid boolean``."""
    if not isinstance(value, bool):
        fail(path, "Input should be a valid boolean")
    return value


def mapping(value: Any, path: str) -> dict[str, Any]:
    """`value` as a JSON object, or ``Input should be a valid dictionary``."""
    if not isinstance(value, dict):
        fail(path, "Input should be a valid dictionary")
    return value


def array(value: Any, path: str) -> list[Any]:
    """`value` as a JSON array, or ``Input should be a valid list``."""
    if not isinstance(value, list):
        fail(path, "Input should be a valid list")
    return value


def literal(value: Any, path: str, options: tuple[str, ...]) -> str:
    """`value` as one of `options`, or ``Input should be 'a' or 'b'``."""
    if value not in options or not isinstance(value, str):
        fail(path, f"Input should be {one_of(options)}")
    return value


def tag(value: Any, path: str, options: tuple[str, ...]) -> str:
    """A discriminator ``type`` that must be one of `options` (pydantic's tagged-union wording)."""
    kind = string(required(value, "type", path), join(path, "type"))
    if kind not in options:
        expected = ", ".join(f"'{option}'" for option in options)
        fail(
            path,
            f"Input tag '{kind}' found using 'type' does not match any of the expected tags: "
            f"{expected}",
        )
    return kind


def optional(body: dict[str, Any], key: str, check: Callable[[Any, str], Any]) -> Any:
    """Run `check` on ``body[key]`` when it is present and not null; return the result or None."""
    value = body.get(key)
    return None if value is None else check(value, key)
