"""Peak-hour schedules (pure): a weekly schedule in a time zone, turned into epoch intervals.

A schedule says "these weekdays, from this local time to that local time, in this zone"
(default: weekdays 05:00-11:00 America/Los_Angeles). The core never does time-zone arithmetic:
`spans` converts the schedule into `[start, end)` Unix-epoch intervals around a moment, which the
rules carry, so that the same decision can run in Python and in a Lua script. Daylight-saving
changes are handled by `zoneinfo`: 05:00 local stays 05:00 local on both sides of a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class PeakSchedule:
    """Weekdays (0 = Monday) and a local time range `[start, end)` in `timezone`."""

    timezone: str
    weekdays: frozenset[int]
    start: time
    end: time

    def spans(self, around: float, days: int = 8) -> tuple[tuple[float, float], ...]:
        """Peak intervals (epoch seconds) intersecting `around ± days` days."""
        zone = ZoneInfo(self.timezone)
        center = datetime.fromtimestamp(around, zone).date()
        found: list[tuple[float, float]] = []
        for offset in range(-days - 1, days + 2):
            day = center + timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            found.append(self._span(day, zone))
        low, high = around - days * 86400.0, around + days * 86400.0
        return tuple(span for span in found if span[1] > low and span[0] < high)

    def _span(self, day: date, zone: ZoneInfo) -> tuple[float, float]:
        begin = datetime.combine(day, self.start, tzinfo=zone).timestamp()
        end_day = day if self.end > self.start else day + timedelta(days=1)
        finish = datetime.combine(end_day, self.end, tzinfo=zone).timestamp()
        return begin, finish

    def is_peak(self, now: float) -> bool:
        """Whether `now` is inside the schedule."""
        return any(start <= now < end for start, end in self.spans(now, days=1))


def parse_clock(text: str) -> time:
    """``"05:00"`` -> 05:00; ``"24:00"`` is accepted as the end of the day (23:59:59.999999)."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"expected a local time HH:MM, got {text!r}")
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return time.max
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"expected a local time HH:MM, got {text!r}")
    return time(h, m)
