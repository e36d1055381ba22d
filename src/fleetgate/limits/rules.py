"""Value types of the limits core: rules, costs, per-rule status, decisions, charges,
settlements and the stored numbers of one key (`KeyState`).

Everything here is plain numbers and strings so that a second implementation of the same math
(the Redis Lua script) can hold the state and read the rules. The state of one store key (one
tenant or organization), a `KeyState`, is a flat ``dict[str, float]``; each rule owns two
fields of it:

- bucket rules: ``<rule id>:level`` (tokens available, may go negative = debt) and
  ``<rule id>:ts`` (when the level was last computed);
- window rules: ``<rule id>:start`` (the window's start, epoch seconds) and ``<rule id>:used``
  (units charged in that window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

RuleKind = Literal["bucket", "session", "fixed", "month"]
"""A continuously refilled token bucket, a first-hit-anchored session window, a fixed-phase
window, or a calendar month (UTC)."""

Dimension = Literal["requests", "input_tokens", "output_tokens", "units"]
"""What a rule counts: requests, ITPM-counted input tokens, output tokens or plan cost units."""

DIMENSIONS: tuple[Dimension, ...] = ("requests", "input_tokens", "output_tokens", "units")

Scope = Literal["organization", "workspace", "plan"]

KeyState = dict[str, float]
"""The stored numbers of one key (tenant or organization)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit checked at admission.

    `limit` is what headers report (a per-minute figure for buckets, the budget in units for
    windows); `capacity` is what is enforced (bucket depth, or window budget before live
    multipliers). `period` is the window length (session and fixed windows) and `phase` the
    offset of fixed windows from the Unix epoch. `peak_spans` are `[start, end)` epoch intervals
    inside which the cost is multiplied by `peak_factor`. `multiplier_keys` name live
    multipliers (``plan:window``) whose product scales `capacity` of a window.
    """

    id: str
    name: str
    kind: RuleKind
    dimension: Dimension
    scope: Scope
    limit: float
    capacity: float
    rate: float = 0.0
    period: float = 0.0
    phase: float = 0.0
    floor_to_hour: bool = False
    overage: bool = False
    shadow: bool = False
    peak_factor: float = 1.0
    peak_spans: tuple[tuple[float, float], ...] = ()
    multiplier_keys: tuple[str, ...] = ()
    field_a: str = field(init=False)
    field_b: str = field(init=False)

    def __post_init__(self) -> None:
        bucket = self.kind == "bucket"
        object.__setattr__(self, "field_a", f"{self.id}:{'level' if bucket else 'start'}")
        object.__setattr__(self, "field_b", f"{self.id}:{'ts' if bucket else 'used'}")


class Costs(NamedTuple):
    """What one request costs in each dimension (estimated at admission, actual at settlement).

    Like the other per-request values here, a NamedTuple: immutable, and cheaper to build than
    a frozen dataclass (several are built for every request)."""

    requests: float = 0.0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    units: float = 0.0

    def of(self, dimension: Dimension) -> float:
        """The cost in `dimension`."""
        if dimension == "requests":
            return self.requests
        if dimension == "input_tokens":
            return self.input_tokens
        if dimension == "output_tokens":
            return self.output_tokens
        return self.units


class RuleStatus(NamedTuple):
    """Where one rule stands at `now`, after the decision's charges when it admitted.

    `remaining` may be negative (debt). `reset_at` is when a bucket is full again or a window
    ends (None: a session window not running). `wait` is how long until this request would fit
    (0 when it fits, `math.inf` when it never can).
    """

    limit: float
    capacity: float
    remaining: float
    used: float
    reset_at: float | None
    fits: bool
    wait: float

    @property
    def utilization(self) -> float:
        """Share of the capacity used, 0..1 (clamped)."""
        if self.capacity <= 0:
            return 1.0
        return min(1.0, max(0.0, self.used / self.capacity))


class Charge(NamedTuple):
    """What admission took from one rule: the rule's index, the amount (after the peak factor),
    the peak factor applied, and the window start it was charged to (buckets: 0)."""

    rule_index: int
    amount: float
    factor: float
    period_start: float


class Decision(NamedTuple):
    """The outcome of one admission: statuses align with the rules given."""

    admitted: bool
    statuses: tuple[RuleStatus, ...]
    charges: tuple[Charge, ...]
    updates: KeyState
    retry_after: float = 0.0
    blocking: tuple[int, ...] = ()
    shadow_refused: tuple[int, ...] = ()
    overage_in_use: bool = False
    now: float = 0.0


class Settlement(NamedTuple):
    """The outcome of settling one reservation: state updates and per-rule net adjustments.

    `adjustments[i]` is the change applied to charge i (positive: more charged; negative: a
    refund, never larger than the reserved amount).
    """

    updates: KeyState
    adjustments: tuple[float, ...]
    now: float = 0.0
