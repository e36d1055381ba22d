"""Peak-hour schedules: local weekday hours in a time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from limits_rules import session_rule

from fleetgate.limits import core
from fleetgate.limits.peak import PeakSchedule, parse_clock
from fleetgate.limits.rules import Costs

PACIFIC_WEEKDAYS = PeakSchedule(
    timezone="America/Los_Angeles",
    weekdays=frozenset(range(5)),
    start=time(5, 0),
    end=time(11, 0),
)


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("moment", "peak"),
    [
        ("2026-03-06T12:59:59", False),  # Friday, PST: peak starts 13:00 UTC
        ("2026-03-06T13:00:00", True),
        ("2026-03-06T18:59:59", True),
        ("2026-03-06T19:00:00", False),
        ("2026-03-07T15:00:00", False),  # Saturday
        ("2026-03-09T11:59:59", False),  # Monday after the spring change, PDT: starts 12:00 UTC
        ("2026-03-09T12:00:00", True),
        ("2026-03-09T17:59:59", True),
        ("2026-03-09T18:00:00", False),
        ("2026-10-30T12:00:00", True),  # Friday before the autumn change, PDT
        ("2026-11-02T12:30:00", False),  # Monday after it, PST again: starts 13:00 UTC
        ("2026-11-02T13:00:00", True),
    ],
)
def test_peak_schedule_follows_local_time_across_dst(moment: str, peak: bool) -> None:
    assert PACIFIC_WEEKDAYS.is_peak(utc(moment)) is peak


def test_spans_cover_the_days_around_a_moment() -> None:
    spans = PACIFIC_WEEKDAYS.spans(utc("2026-03-08T00:00:00"), days=8)
    assert (utc("2026-03-06T13:00:00"), utc("2026-03-06T19:00:00")) in spans
    assert (utc("2026-03-09T12:00:00"), utc("2026-03-09T18:00:00")) in spans
    assert len(spans) == 10  # Mar 2-6 and Mar 9-13 (Feb 27 ended before the range)
    assert all(end - start == 6 * 3600 for start, end in spans)


def test_overnight_schedules_end_the_next_day() -> None:
    night = PeakSchedule("UTC", frozenset({4}), time(22, 0), time(2, 0))
    assert night.is_peak(utc("2026-03-06T23:00:00"))
    assert night.is_peak(utc("2026-03-07T01:59:00"))
    assert not night.is_peak(utc("2026-03-07T02:00:00"))


def test_the_core_charges_the_peak_factor_only_inside_the_schedule() -> None:
    moment = utc("2026-03-09T12:30:00")
    rule = session_rule(1000.0, peak_factor=2.0, peak_spans=PACIFIC_WEEKDAYS.spans(moment))
    inside = core.decide([rule], {}, {}, Costs(units=10.0), moment)
    outside = core.decide([rule], {}, {}, Costs(units=10.0), moment - 3600)
    assert inside.charges[0].amount == 20.0
    assert outside.charges[0].amount == 10.0


@pytest.mark.parametrize("text", ["5", "25:00", "05:60", "5:0", "ab:cd"])
def test_bad_clock_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock(text)
