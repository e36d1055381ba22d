"""Path-aware field checks with the OpenAI API's error wording, `param` and `code`.

Every check takes the value and its path (``messages[0].content[1].text``) and either returns the
value typed or raises `InvalidRequest` the way OpenAI words it: ``Missing required parameter``
(code ``missing_required_parameter``), ``Invalid type for '...': expected ..., but got ...
instead.`` (``invalid_type``), ``Invalid value: '...'. Supported values are: ...``
(``invalid_value``) and the ``... above maximum value`` / ``below minimum value`` range errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from fleetgate.errors import InvalidRequest


def invalid(param: str, message: str, *, code: str | None = "invalid_value") -> NoReturn:
    """Raise an OpenAI-style `InvalidRequest` for `param`."""
    raise InvalidRequest(message, param=param, code=code)


def missing(path: str) -> NoReturn:
    """``Missing required parameter: 'path'.``"""
    invalid(path, f"Missing required parameter: '{path}'.", code="missing_required_parameter")


def describe(value: Any) -> str:
    """How OpenAI names the JSON type of `value` (``an integer``, ``a string`` ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def wrong_type(path: str, expected: str, value: Any) -> NoReturn:
    """``Invalid type for 'path': expected <expected>, but got <actual> instead.``"""
    invalid(
        path,
        f"Invalid type for '{path}': expected {expected}, but got {describe(value)} instead.",
        code="invalid_type",
    )


def string(value: Any, path: str) -> str:
    """`value` as a string."""
    if not isinstance(value, str):
        wrong_type(path, "a string", value)
    return value


def boolean(value: Any, path: str) -> bool:
    """`value` as a boolean."""
    if not isinstance(value, bool):
        wrong_type(path, "a boolean", value)
    return value


def obj(value: Any, path: str, *, expected: str = "an object") -> dict[str, Any]:
    """`value` as a JSON object."""
    if not isinstance(value, dict):
        wrong_type(path, expected, value)
    return value


def array(value: Any, path: str, *, expected: str = "an array") -> list[Any]:
    """`value` as a JSON array."""
    if not isinstance(value, list):
        wrong_type(path, expected, value)
    return value


def integer(value: Any, path: str, *, low: int | None = None, high: int | None = None) -> int:
    """`value` as an integer within [low, high] (an integral decimal such as 5.0 is accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        wrong_type(path, "an integer", value)
    _check_range(value, path, "integer", low, high)
    return value


def number(value: Any, path: str, *, low: float | None = None, high: float | None = None) -> float:
    """`value` as a number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        wrong_type(path, "a decimal", value)
    _check_range(value, path, "decimal", low, high)
    return float(value)


def _check_range(value: float, path: str, kind: str, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        invalid(
            path,
            f"Invalid '{path}': {kind} below minimum value. Expected a value >= {low:g}, "
            f"but got {value:g} instead.",
            code=f"{kind}_below_min_value",
        )
    if high is not None and value > high:
        invalid(
            path,
            f"Invalid '{path}': {kind} above maximum value. Expected a value <= {high:g}, "
            f"but got {value:g} instead.",
            code=f"{kind}_above_max_value",
        )


def invalid_value(value: Any, path: str, options: tuple[str, ...]) -> str:
    """`value` as one of `options`, or ``Invalid value: 'x'. Supported values are: ...``."""
    if isinstance(value, str) and value in options:
        return value
    if not isinstance(value, str):
        wrong_type(path, "a string", value)
    quoted = [f"'{option}'" for option in options]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + ", and " + quoted[-1]
    invalid(path, f"Invalid value: '{value}'. Supported values are: {listed}.")


def optional(
    body: dict[str, Any],
    key: str,
    check: Callable[[Any, str], Any],
    *,
    prefix: str | None = None,
) -> Any:
    """Run `check` on ``body[key]`` when present and not null; return its result or None."""
    value = body.get(key)
    if value is None:
        return None
    return check(value, f"{prefix}.{key}" if prefix else key)
