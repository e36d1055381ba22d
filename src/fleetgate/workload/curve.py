"""The day curve: how load spreads over the 24 UTC hours, and the one peak-hour test.

Owns `Diurnal` (the `diurnal:` section of the planner's demand file and of the scenario's
workload), `DayCurve` (the hourly shares and weights it gives, and Poisson arrivals shaped by
them) and `in_hours` (whether an hour lies in a [start, end) range that may wrap past midnight).

The formula. Load through the day is a cosine whose peak is the middle of hour `peak_hour_utc`.
Hour h's weight is the curve's exact mean over [h, h + 1):

    w(h) = 1 + a * cos(2 * pi * (h - peak_hour_utc) / 24),   a = (r - 1) / (r + 1)

(the mean over an hour of a cosine is the cosine at the hour's middle times sin(pi/24)/(pi/24);
the amplitude of the continuous curve is a / that factor). So the weights average 1, the named
peak hour holds the largest share, and the busiest hour is exactly `peak_to_trough` = r times
the quietest. Shares are w(h) / 24 and add up to 1. `hourly:` replaces the cosine with 24 given
weights. Inside `peak_hours_utc` demand is multiplied by `peak_boost` (a launch-day rush).

Why this formula (issue 13): the planner used these shares (written as a cosine at the hour's
start, which is the same function); the simulator evaluated a cosine centred on `peak_hour_utc`
*o'clock* at each mid-hour, which puts the curve's top between two hours (peak 16: hours 15 and
16 tie at 6.23% each, the planner's hour 16 has 6.25%) and shifts every hour by half an hour, up
to 7.8% apart in an hour. The simulator's mid-hour idea is right (an hour's weight must be the
curve's mean over the hour); centring the cosine on the middle of the peak hour keeps that and
makes `peak_hour_utc` the hour that is busiest, as its name says, and r the ratio of the busiest
to the quietest hour, as the planner (which sizes hours) needs. The simulator's schema wins on
keys (a fractional peak hour, peak hours with a boost; the planner honours the boost too), the
planner's on checks (a ratio of at least 1; hours from 0 to 24).
"""

from __future__ import annotations

import math
import random
from typing import Annotated

from pydantic import BeforeValidator, field_validator

from fleetgate.config_types import Frozen, PositiveFloat, number_in_range

HOURS = 24

HourOfDay = Annotated[
    float, BeforeValidator(number_in_range("an hour from 0 to 24", low=0.0, high=24.0))
]
WholeHour = Annotated[
    int, BeforeValidator(number_in_range("an hour from 0 to 24", low=0, high=24, integer=True))
]
Ratio = Annotated[float, BeforeValidator(number_in_range("a ratio of at least 1", low=1.0))]


def in_hours(hour: int, start: int, end: int) -> bool:
    """Whether `hour` lies in [start, end), wrapping past midnight when end < start."""
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


class Diurnal(Frozen):
    """Load through the day: a cosine peaking in hour `peak_hour_utc`, or 24 hourly weights."""

    peak_hour_utc: HourOfDay = 16.0
    """The busiest hour (UTC); a fraction moves the peak between two hours."""
    peak_to_trough: Ratio = 3.0
    """Load in the busiest hour over load in the quietest."""
    hourly: tuple[PositiveFloat, ...] | None = None
    """24 relative weights, hour 0 first (replace the cosine)."""
    peak_hours_utc: tuple[WholeHour, WholeHour] | None = None
    """[start, end) hours (UTC) in which demand is multiplied by `peak_boost`."""
    peak_boost: PositiveFloat = 1.0
    """Extra factor on demand inside `peak_hours_utc` (e.g. 1.3 for a launch-day rush)."""

    @field_validator("hourly")
    @classmethod
    def _twenty_four(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and len(value) != HOURS:
            raise ValueError(f"expected 24 hourly weights, got {len(value)}")
        return value


def cosine_weights(peak_hour: float, peak_to_trough: float) -> tuple[float, ...]:
    """Each hour's mean of the cosine day curve (mean 1 over the day); see the module text."""
    amplitude = (peak_to_trough - 1.0) / (peak_to_trough + 1.0)
    return tuple(
        1.0 + amplitude * math.cos(2.0 * math.pi * (hour - peak_hour) / HOURS)
        for hour in range(HOURS)
    )


class DayCurve:
    """The hourly shape of demand a `Diurnal` gives.

    `shares` add up to 1 over the day; `weights` are the same shape with mean 1 (24 x shares).
    Both leave out the peak boost, which `load_share` and `weight` apply.
    """

    __slots__ = ("boost", "maximum", "peak", "shares", "weights")

    def __init__(self, diurnal: Diurnal) -> None:
        raw = diurnal.hourly or cosine_weights(diurnal.peak_hour_utc, diurnal.peak_to_trough)
        total = sum(raw)
        self.shares = tuple(weight / total for weight in raw)
        self.weights = tuple(share * HOURS for share in self.shares)
        self.peak = diurnal.peak_hours_utc
        self.boost = diurnal.peak_boost
        self.maximum = max(self.weights) * max(self.boost, 1.0)
        """The largest `weight` of the day (the thinning bound of `next_arrival`)."""

    def in_peak(self, hour: int) -> bool:
        """Whether `hour` (UTC) lies in the boosted peak hours."""
        return self.peak is not None and in_hours(hour, *self.peak)

    def load_share(self, hour: int) -> float:
        """Hour `hour`'s share of a day's demand, times the boost in peak hours."""
        share = self.shares[hour]
        return share * self.boost if self.in_peak(hour) else share

    def weight(self, now: float) -> float:
        """Relative demand at epoch second `now` (mean 1 over a day without boost)."""
        hour = int(now // 3600.0) % HOURS
        weight = self.weights[hour]
        return weight * self.boost if self.in_peak(hour) else weight

    def next_arrival(self, now: float, mean_rate: float, rng: random.Random) -> float:
        """The next event after `now` of a Poisson process of `mean_rate` x weight(t), drawn
        by thinning with the caller's `rng`."""
        top = mean_rate * self.maximum
        if top <= 0:
            return math.inf
        clock = now
        while True:
            clock += rng.expovariate(top)
            if rng.random() * self.maximum <= self.weight(clock):
                return clock
