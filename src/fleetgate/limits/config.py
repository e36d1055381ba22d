"""The `limits:` section of the fleet file: store, profile, plans, tiers, weights, peak hours;
and `Account`, what the limiter reads of a tenant (`fleetgate.settings` composes both into the
fleet file; nothing here imports it).

`limits: {}` is a complete configuration: the shipped plan profiles (Free ... Enterprise seat),
the published API tier tables and the per-family token weights come from the data files in
`fleetgate/limits/data/`; anything given here is laid over them by name (a plan, tier or family
given here replaces the shipped one of the same name). Absolute plan budgets are not published
by anyone: `plan_base` sets the Pro allowance in cost units and every shipped plan is a published
multiple of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from fleetgate.config_types import (
    Frozen,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    PositiveShare,
)
from fleetgate.limits.peak import WEEKDAYS, parse_clock

Profile = Literal["v2025", "v2026"]
"""Which published behaviour to follow where it changed (see the reference, section 1.5)."""

WINDOW_NAMES: tuple[str, ...] = ("five_hour", "seven_day")
RULE_NAME = re.compile(
    r"^(five_hour|seven_day|seven_day_[a-z0-9.\-]+|extra_usage|requests"
    r"|input_tokens|output_tokens|count_tokens)$"
)


def _timezone(value: Any) -> Any:
    try:
        if not isinstance(value, str):
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PydanticCustomError(
            "expected", "expected an IANA time zone such as America/Los_Angeles", {}
        ) from exc
    return value


def _clock(value: Any) -> Any:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        parse_clock(value)
    except ValueError as exc:
        raise PydanticCustomError("expected", "expected a local time HH:MM", {}) from exc
    return value


def _weekday(value: Any) -> Any:
    if not isinstance(value, str) or value.lower()[:3] not in WEEKDAYS:
        raise PydanticCustomError("expected", "expected a weekday (mon ... sun)", {})
    return value.lower()[:3]


def _rule_name(value: Any) -> Any:
    if not isinstance(value, str) or not RULE_NAME.match(value):
        raise PydanticCustomError(
            "expected",
            "expected a rule name (five_hour, seven_day, seven_day_<family>, extra_usage, "
            "requests, input_tokens, output_tokens, count_tokens)",
            {},
        )
    return value


TimeZone = Annotated[str, BeforeValidator(_timezone)]
LocalTime = Annotated[str, BeforeValidator(_clock)]
Weekday = Annotated[str, BeforeValidator(_weekday)]
RuleName = Annotated[str, BeforeValidator(_rule_name)]


class TokenWeights(Frozen):
    """Cost units charged per token of each kind, for one model family."""

    input: NonNegativeFloat
    output: NonNegativeFloat
    cache_write: NonNegativeFloat
    cache_read: NonNegativeFloat


class PlanSettings(Frozen):
    """A subscription plan: window budgets in cost units, sub-limits, peak metering, extras."""

    five_hour: PositiveFloat
    seven_day: PositiveFloat
    family_weekly: Mapping[str, PositiveShare] = Field(default_factory=dict)
    peak_metering: bool = False
    extra_usage_monthly_units: PositiveFloat | None = None
    floor_session_to_hour: bool = False
    source: str = ""


class PlanBase(Frozen):
    """The Pro plan's allowance in cost units; shipped plans are published multiples of it."""

    five_hour: PositiveFloat = 5_000_000.0
    seven_day: PositiveFloat = 50_000_000.0


class FamilyTierLimits(Frozen):
    """Per-minute limits of one model family in one API tier."""

    rpm: PositiveInt
    itpm: PositiveInt
    otpm: PositiveInt
    cache_reads_count: bool = False


class TierSettings(Frozen):
    """An API tier: per-family RPM/ITPM/OTPM, the count_tokens RPM and the burst depth."""

    families: Mapping[str, FamilyTierLimits]
    default_family: str | None = None
    count_tokens_rpm: PositiveInt | None = None
    burst_seconds: PositiveFloat | None = None
    source: str = ""


class WorkspaceLimits(Frozen):
    """Lower per-minute limits a workspace sets for itself (unset: the organization's)."""

    rpm: PositiveInt | None = None
    itpm: PositiveInt | None = None
    otpm: PositiveInt | None = None


class WorkspaceSettings(Frozen):
    """A tenant that is a workspace of an organization: shares the organization's buckets."""

    organization: str
    default: WorkspaceLimits = WorkspaceLimits()
    families: Mapping[str, WorkspaceLimits] = Field(default_factory=dict)


class PeakSettings(Frozen):
    """Peak-hour metering: when it is peak, and how much faster plan windows are consumed."""

    timezone: TimeZone = "America/Los_Angeles"
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: LocalTime = "05:00"
    end: LocalTime = "11:00"
    multiplier: PositiveFloat = 2.0
    windows: tuple[Literal["five_hour", "seven_day"], ...] = ("five_hour",)


class LimitsSettings(Frozen):
    """Where limit state lives, how to behave when that store is down, and every limit."""

    store: str = "memory://"
    on_store_error: Literal["open", "closed"] = "open"
    profile: Profile = "v2026"
    burst_seconds: PositiveFloat = 60.0
    warning_threshold: PositiveShare = 0.8
    plan_base: PlanBase = PlanBase()
    plans: Mapping[str, PlanSettings] = Field(default_factory=dict)
    tiers: Mapping[str, TierSettings] = Field(default_factory=dict)
    weights: Mapping[str, TokenWeights] = Field(default_factory=dict)
    peak: PeakSettings = PeakSettings()
    workspaces: Mapping[str, WorkspaceSettings] = Field(default_factory=dict)
    shadow: tuple[RuleName, ...] = ()
    max_multiplier: PositiveFloat = 100.0
    pending_settlements: PositiveInt = 10_000
    output_accounting: Literal["profile", "reserve", "debit"] = "profile"
    """`profile`: v2025 reserves max_tokens and refunds, v2026 debits output as produced."""

    @property
    def reserves_output(self) -> bool:
        """Whether output is reserved from max_tokens at admission."""
        if self.output_accounting == "profile":
            return self.profile == "v2025"
        return self.output_accounting == "reserve"


class Account(Protocol):
    """What the limiter reads of a tenant: its id, and its plan or API tier (or neither)."""

    @property
    def id(self) -> str: ...

    @property
    def plan(self) -> str | None: ...

    @property
    def tier(self) -> str | None: ...
