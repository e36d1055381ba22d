"""Value types of scenario files: durations, instants, shares and length distributions.

Owns the small validated pieces the scenario models are built from, each refusing bad input
with an ``expected ...`` message that `fleetgate.configfile` turns into a key-path
error (``workload.populations[0].users: expected a non-negative integer, got -3``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator
from pydantic_core import PydanticCustomError

from fleetgate.config_types import Frozen, NonNegativeFloat, PositiveFloat

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from a number of seconds or a text such as ``90s``, ``30m``, ``2h``, ``7d``."""
    if isinstance(value, bool):
        raise PydanticCustomError("expected", "expected a duration such as 3600, '30m' or '2h'")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise PydanticCustomError("expected", "expected a non-negative duration")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    raise PydanticCustomError("expected", "expected a duration such as 3600, '30m' or '2h'")


def _positive_duration(value: Any) -> Any:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise PydanticCustomError("expected", "expected a positive duration")
    return seconds


def parse_instant(value: Any) -> float:
    """Epoch seconds from a number or an ISO 8601 text (naive texts are UTC)."""
    if isinstance(value, bool):
        raise PydanticCustomError("expected", "expected epoch seconds or an ISO 8601 time")
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    raise PydanticCustomError("expected", "expected epoch seconds or an ISO 8601 time")


def _fraction(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PydanticCustomError("expected", "expected a fraction between 0 and 1")
    return float(value)


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(_positive_duration)]
Instant = Annotated[float, BeforeValidator(parse_instant)]
Fraction = Annotated[float, BeforeValidator(_fraction)]

DistKind = Literal["fixed", "exponential", "lognormal", "uniform", "pareto"]


class Distribution(Frozen):
    """A positive quantity drawn per request or session.

    ``fixed``: always `mean`. ``exponential``: mean `mean`. ``lognormal``: mean `mean`, shape
    `sigma` (of the underlying normal). ``uniform``: between `low` and `high`. ``pareto``: mean
    `mean`, tail index `alpha` (> 1). `max`, when given, caps every draw (and the report counts
    how many were capped); there is no silent truncation.
    """

    dist: DistKind = "fixed"
    mean: PositiveFloat | None = None
    sigma: PositiveFloat = 1.0
    low: NonNegativeFloat | None = None
    high: PositiveFloat | None = None
    alpha: PositiveFloat = 2.5
    max: PositiveFloat | None = None

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        if self.dist == "uniform":
            if self.low is None or self.high is None:
                raise ValueError("a uniform distribution needs low and high")
            if self.high < self.low:
                raise ValueError("high must be at least low")
        elif self.mean is None:
            raise ValueError(f"a {self.dist} distribution needs a mean")
        if self.dist == "pareto" and self.alpha <= 1:
            raise ValueError("a pareto distribution needs alpha above 1 (a finite mean)")
        return self

    @property
    def expected(self) -> float:
        """The mean of the distribution before any cap."""
        if self.dist == "uniform":
            return ((self.low or 0.0) + (self.high or 0.0)) / 2.0
        return float(self.mean or 0.0)


def distribution(value: Any) -> Any:
    """A bare number means a fixed value: ``output_tokens: 400``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "mean": value}
    return value


Dist = Annotated[Distribution, BeforeValidator(distribution)]
