"""Rule builders shared by the limits tests: the 5-hour session window, the weekly fixed window
and per-minute buckets, each taking keyword overrides of any other `Rule` field."""

from __future__ import annotations

from typing import Any

from fleetgate.limits.rules import Rule

FIVE_HOURS = 18000.0
WEEK = 604800.0


def session_rule(capacity: float = 100.0, **overrides: Any) -> Rule:
    """The `five_hour` session window of `capacity` plan units."""
    return Rule(
        **{
            "id": "five_hour",
            "name": "five_hour",
            "kind": "session",
            "dimension": "units",
            "scope": "plan",
            "limit": capacity,
            "capacity": capacity,
            "period": FIVE_HOURS,
            **overrides,
        }
    )


def weekly_rule(capacity: float, **overrides: Any) -> Rule:
    """The `seven_day` fixed window of `capacity` plan units."""
    return Rule(
        **{
            "id": "seven_day",
            "name": "seven_day",
            "kind": "fixed",
            "dimension": "units",
            "scope": "plan",
            "limit": capacity,
            "capacity": capacity,
            "period": WEEK,
            **overrides,
        }
    )


def bucket_rule(
    per_minute: float,
    *,
    rule_id: str = "b",
    name: str = "requests",
    dimension: str = "requests",
    scope: str = "organization",
    **overrides: Any,
) -> Rule:
    """A token bucket `per_minute` deep that refills `per_minute` every minute."""
    return Rule(
        **{
            "id": rule_id,
            "name": name,
            "kind": "bucket",
            "dimension": dimension,
            "scope": scope,
            "limit": per_minute,
            "capacity": per_minute,
            "rate": per_minute / 60,
            **overrides,
        }
    )
