"""Value types and the frozen base model shared by every settings section.

Validators raise errors of type ``expected`` whose message says what was expected, so that
`fleetgate.settings` can report ``path: expected a positive integer, got 'lots'``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError


def _number(value: Any, *, integer: bool, minimum: float, inclusive: bool, what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("expected", "expected {what}", {"what": what})
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        raise PydanticCustomError("expected", "expected {what}", {"what": what})
    if value < minimum or (not inclusive and value == minimum):
        raise PydanticCustomError("expected", "expected {what}", {"what": what})
    return int(value) if integer else float(value)


def _positive_int(value: Any) -> Any:
    return _number(value, integer=True, minimum=0, inclusive=False, what="a positive integer")


def _non_negative_int(value: Any) -> Any:
    return _number(value, integer=True, minimum=0, inclusive=True, what="a non-negative integer")


def _positive_float(value: Any) -> Any:
    return _number(value, integer=False, minimum=0, inclusive=False, what="a positive number")


def _non_negative_float(value: Any) -> Any:
    return _number(value, integer=False, minimum=0, inclusive=True, what="a non-negative number")


def _name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("expected", "expected a non-empty string", {})
    return value


def _url(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise PydanticCustomError("expected", "expected an http:// or https:// URL", {})
    return value.rstrip("/")


def _pue(value: Any) -> Any:
    number = _number(
        value, integer=False, minimum=1.0, inclusive=True, what="a PUE of at least 1.0"
    )
    return number


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
NonNegativeInt = Annotated[int, BeforeValidator(_non_negative_int)]
PositiveFloat = Annotated[float, BeforeValidator(_positive_float)]
NonNegativeFloat = Annotated[float, BeforeValidator(_non_negative_float)]
Name = Annotated[str, BeforeValidator(_name)]
Url = Annotated[str, BeforeValidator(_url)]
Pue = Annotated[float, BeforeValidator(_pue)]


class Frozen(BaseModel):
    """Base of every settings model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")
