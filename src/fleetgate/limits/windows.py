"""Usage-window math (pure): which window `now` falls in, and what of it is used.

Three kinds, each two numbers of state (`start`, `used`):

- session (`five_hour`): starts at the first request after the previous window expired,
  optionally floored to the whole hour (UTC); not running until that first request;
- fixed (`seven_day`): tumbling windows of `period` seconds with a fixed per-account `phase`;
- month (extra usage): the calendar month in UTC, computed with integer civil-date arithmetic
  (Howard Hinnant's algorithm) so that a Lua script can compute the same boundaries.
"""

from __future__ import annotations

import math

HOUR = 3600.0
DAY = 86400.0


def session_start(stored_start: float | None, period: float, floor: bool, now: float) -> float:
    """The start of the session window that a request at `now` is charged to."""
    if stored_start is not None and stored_start <= now < stored_start + period:
        return stored_start
    return math.floor(now / HOUR) * HOUR if floor else now


def session_running(stored_start: float | None, period: float, now: float) -> bool:
    """Whether a session window is running at `now` (a report must not start one)."""
    return stored_start is not None and stored_start <= now < stored_start + period


def fixed_start(period: float, phase: float, now: float) -> float:
    """The start of the fixed window holding `now`."""
    return phase + math.floor((now - phase) / period) * period


def _days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int]:
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return year, month


def month_bounds(now: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the UTC calendar month holding `now`."""
    year, month = _civil_from_days(math.floor(now / DAY))
    start = _days_from_civil(year, month, 1) * DAY
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, _days_from_civil(next_year, next_month, 1) * DAY
