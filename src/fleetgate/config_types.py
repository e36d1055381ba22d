"""Value types, the frozen base model and key-path error reporting shared by every config file.

Validators raise errors of type ``expected`` whose message says what was expected, so that
`format_validation_error` can report ``path: expected a positive integer, got 'lots'``. Reading a
file and validating it is `fleetgate.configfile`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError


def number_in_range(
    what: str,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> Callable[[Any], Any]:
    """A `BeforeValidator` function taking numbers from `low` to `high` (an open end excluded);
    anything else, NaN and booleans included, fails with ``expected <what>``. With `integer`,
    whole floats such as 3.0 are taken as integers."""

    def check(value: Any) -> Any:
        valid = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (not integer or isinstance(value, int) or float(value).is_integer())
            and (low < value if low_open else low <= value)
            and (value < high if high_open else value <= high)
        )
        if not valid:
            raise PydanticCustomError("expected", "expected {what}", {"what": what})
        return int(value) if integer else float(value)

    return check


_positive_int = number_in_range("a positive integer", low=0, low_open=True, integer=True)
_non_negative_int = number_in_range("a non-negative integer", low=0, integer=True)
_positive_float = number_in_range("a positive number", low=0, low_open=True)
_non_negative_float = number_in_range("a non-negative number", low=0)
_positive_share = number_in_range("a share above 0 and at most 1", low=0, high=1, low_open=True)
_pue = number_in_range("a PUE of at least 1.0", low=1.0)


def _name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("expected", "expected a non-empty string", {})
    return value


def _url(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise PydanticCustomError("expected", "expected an http:// or https:// URL", {})
    return value.rstrip("/")


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
NonNegativeInt = Annotated[int, BeforeValidator(_non_negative_int)]
PositiveFloat = Annotated[float, BeforeValidator(_positive_float)]
NonNegativeFloat = Annotated[float, BeforeValidator(_non_negative_float)]
Name = Annotated[str, BeforeValidator(_name)]
Url = Annotated[str, BeforeValidator(_url)]
Pue = Annotated[float, BeforeValidator(_pue)]
PositiveShare = Annotated[float, BeforeValidator(_positive_share)]


class Frozen(BaseModel):
    """Base of every settings model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- error reporting


def key_path(loc: Iterable[int | str], prefix: str = "") -> str:
    """`('sites', 1, 'gpus')` as ``sites[1].gpus`` (after `prefix`, if any)."""
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
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
    if kind == "string_type":
        return f"expected a string, got {given!r}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"expected an integer, got {given!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message}, got {given!r}"


def format_problems(source: str, problems: Sequence[str], *, what: str = "settings") -> str:
    """``source: invalid <what>`` followed by one indented line per problem."""
    return f"{source}: invalid {what}\n  " + "\n  ".join(problems)


def format_validation_error(
    exc: ValidationError, source: str, *, what: str = "settings", prefix: str = ""
) -> str:
    """`exc` as one message naming every bad key path (under `prefix`) and what was expected."""
    lines = [f"{key_path(err['loc'], prefix)}: {_describe(err)}" for err in exc.errors()]
    return format_problems(source, lines, what=what)


def duplicate_ids(what: str, ids: Sequence[str]) -> list[str]:
    """One ``what[i].id: duplicate id 'x'`` problem per id already seen earlier in `ids`."""
    seen: set[str] = set()
    problems = []
    for index, item in enumerate(ids):
        if item in seen:
            problems.append(f"{what}[{index}].id: duplicate id {item!r}")
        seen.add(item)
    return problems
