"""The limits decision (pure): admit or refuse against every rule at once, settle, and report.

Each function is a function of (rules, stored state, live multipliers, costs, now) and returns the
state fields to write; stores only persist. Semantics:

- Admission is all-or-nothing: a request is admitted only when every non-shadow rule fits; a
  refusal writes nothing at all.
- When only plan windows refuse and the plan has extra usage (an `overage` rule) with room, the
  request is admitted on extra usage: the overage window (and any buckets) are charged, the plan
  windows are not.
- Shadow rules are evaluated and reported but never refuse; they are charged only when they fit.
- Settlement replaces each reservation by the actual cost, exactly once (the caller ensures the
  once): a refund never exceeds the reservation, a bucket may go into debt, and a window that
  rolled over since admission gets only the unreserved excess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from fleetgate.limits import buckets, windows
from fleetgate.limits.rules import Charge, Costs, Decision, KeyState, Rule, RuleStatus, Settlement


def peak_factor_at(rule: Rule, now: float) -> float:
    """The consumption multiplier of `rule` at `now` (1 outside its peak spans)."""
    for start, end in rule.peak_spans:
        if start <= now < end:
            return rule.peak_factor
    return 1.0


_new = tuple.__new__
"""Builds a NamedTuple from a tuple, skipping its generated `__new__` (hot paths)."""


class _View(NamedTuple):
    """One rule at `now` before charging: capacity, used, window start and end, fit and wait."""

    capacity: float
    used: float
    start: float
    end: float | None
    fits: bool
    wait: float


def _bucket_view(rule: Rule, state: Mapping[str, float], cost: float, now: float) -> _View:
    capacity = rule.capacity
    stored = state.get(rule.field_a)
    if stored is None:
        level = capacity
    else:
        ts = state.get(rule.field_b, now)
        level = stored if now <= ts else min(capacity, stored + (now - ts) * rule.rate)
    if level >= (cost if cost > 1.0 else 1.0):
        return _new(_View, (capacity, capacity - level, now, None, True, 0.0))
    wait = buckets.wait_for(level, cost, capacity, rule.rate)
    return _new(_View, (capacity, capacity - level, now, None, False, wait))


def _window_span(
    rule: Rule, state: Mapping[str, float], now: float, starting: bool
) -> tuple[float, float | None, bool]:
    """(start, end, running) of the window a request at `now` belongs to."""
    kind = rule.kind
    if kind == "session":
        stored = state.get(rule.field_a)
        period = rule.period
        if windows.session_running(stored, period, now):
            assert stored is not None  # for the type checker: a running window has a start
            return stored, stored + period, True  # `session_start` of a running window
        if not starting:
            return now, None, False
        start = windows.session_start(None, period, rule.floor_to_hour, now)
        return start, start + period, False
    if kind == "fixed":
        start = windows.fixed_start(rule.period, rule.phase, now)
        return start, start + rule.period, state.get(rule.field_a) == start
    start, end = windows.month_bounds(now)
    return start, end, state.get(rule.field_a) == start


def _window_view(
    rule: Rule,
    state: Mapping[str, float],
    multipliers: Mapping[str, float],
    cost: float,
    now: float,
    starting: bool,
) -> _View:
    factor = 1.0  # the product of the live multipliers that apply to `rule`
    for key in rule.multiplier_keys:
        factor *= multipliers.get(key, 1.0)
    capacity = rule.capacity * factor
    start, end, running = _window_span(rule, state, now, starting)
    used = state.get(rule.field_b, 0.0) if running else 0.0
    if used < capacity and used + cost <= capacity:
        return _new(_View, (capacity, used, start, end, True, 0.0))
    if cost > capacity or end is None:
        return _new(_View, (capacity, used, start, end, False, math.inf))
    return _new(_View, (capacity, used, start, end, False, max(0.0, end - now)))


def _view(
    rule: Rule,
    state: Mapping[str, float],
    multipliers: Mapping[str, float],
    cost: float,
    now: float,
    starting: bool = True,
) -> _View:
    if rule.kind == "bucket":
        return _bucket_view(rule, state, cost, now)
    return _window_view(rule, state, multipliers, cost, now, starting)


def _status(rule: Rule, view: _View, charged: float, now: float) -> RuleStatus:
    capacity, used, _start, end, fits, wait = view
    used += charged
    if rule.kind != "bucket":
        reset_at = end
    elif used > 0 and rule.rate > 0:
        reset_at = now + used / rule.rate
    else:
        reset_at = now
    fits = fits if charged == 0 else True
    return _new(RuleStatus, (rule.limit, capacity, capacity - used, used, reset_at, fits, wait))


def _evaluate(
    rules: Sequence[Rule],
    state: Mapping[str, float],
    multipliers: Mapping[str, float],
    costs: Costs,
    now: float,
) -> tuple[list[float], list[float], list[_View], list[int], list[int]]:
    """(amounts, peak factors, views, blocking indexes, shadow refusals) in one pass."""
    amounts: list[float] = []
    factors: list[float] = []
    views: list[_View] = []
    blocking: list[int] = []
    shadow_refused: list[int] = []
    for i, rule in enumerate(rules):
        factor = peak_factor_at(rule, now) if rule.peak_spans else 1.0
        amount = getattr(costs, rule.dimension) * factor
        if rule.kind == "bucket":
            view = _bucket_view(rule, state, amount, now)
        else:
            view = _window_view(rule, state, multipliers, amount, now, True)
        if not view.fits:
            if rule.shadow:
                shadow_refused.append(i)
            elif not rule.overage:
                blocking.append(i)
        amounts.append(amount)
        factors.append(factor)
        views.append(view)
    return amounts, factors, views, blocking, shadow_refused


def _choose_charged(
    rules: Sequence[Rule], views: Sequence[_View], blocking: Sequence[int]
) -> tuple[list[int], bool]:
    """(indexes to charge, on extra usage); no indexes means refused."""
    if not blocking:
        return [i for i, r in enumerate(rules) if not r.overage and views[i].fits], False
    overage = [i for i, r in enumerate(rules) if r.overage]
    windows_only = all(rules[i].kind != "bucket" for i in blocking)
    if overage and windows_only and all(views[i].fits for i in overage):
        regular_buckets = [
            i for i, r in enumerate(rules) if r.kind == "bucket" and not r.overage and views[i].fits
        ]
        return overage + regular_buckets, True
    return [], False


def _refused(
    rules: Sequence[Rule],
    views: Sequence[_View],
    blocking: Sequence[int],
    shadow_refused: Sequence[int],
    now: float,
) -> Decision:
    statuses = tuple(_status(rule, views[i], 0.0, now) for i, rule in enumerate(rules))
    retry_after = max((views[i].wait for i in blocking), default=0.0)
    overage_waits = [views[i].wait for i, r in enumerate(rules) if r.overage]
    if overage_waits and all(rules[i].kind != "bucket" for i in blocking):
        retry_after = min(retry_after, *overage_waits)
    return Decision(
        False, statuses, (), {}, retry_after, tuple(blocking), tuple(shadow_refused), False, now
    )


def _charge(
    i: int, rule: Rule, view: _View, amount: float, factor: float, now: float, updates: KeyState
) -> Charge:
    """Charge `amount` to rule `i`: its new state into `updates`, and the charge to settle."""
    if rule.kind == "bucket":
        updates[rule.field_a] = view.capacity - view.used - amount
        updates[rule.field_b] = now
        return _new(Charge, (i, amount, factor, 0.0))
    start = view.start
    updates[rule.field_a] = start
    updates[rule.field_b] = view.used + amount
    return _new(Charge, (i, amount, factor, start))


def decide(
    rules: Sequence[Rule],
    state: Mapping[str, float],
    multipliers: Mapping[str, float],
    costs: Costs,
    now: float,
) -> Decision:
    """Admit a request of `costs` at `now` against every rule, or refuse it consuming nothing."""
    updates: KeyState = {}
    charges = []
    statuses = []
    shadow_refused = []
    for i, rule in enumerate(rules):  # one pass while nothing blocks (the common case)
        factor = peak_factor_at(rule, now) if rule.peak_spans else 1.0
        amount = getattr(costs, rule.dimension) * factor
        if rule.kind == "bucket":
            view = _bucket_view(rule, state, amount, now)
        else:
            view = _window_view(rule, state, multipliers, amount, now, True)
        if view.fits and not rule.overage:  # charged: every rule that fits, but extra usage
            charges.append(_charge(i, rule, view, amount, factor, now, updates))
            statuses.append(_status(rule, view, amount, now))
            continue
        if not view.fits:
            if rule.shadow:
                shadow_refused.append(i)
            elif not rule.overage:
                return _blocked(rules, state, multipliers, costs, now)
        statuses.append(_status(rule, view, 0.0, now))
    return _new(
        Decision,
        (
            True,
            tuple(statuses),
            tuple(charges),
            updates,
            0.0,
            (),
            tuple(shadow_refused),
            False,
            now,
        ),
    )


def _blocked(
    rules: Sequence[Rule],
    state: Mapping[str, float],
    multipliers: Mapping[str, float],
    costs: Costs,
    now: float,
) -> Decision:
    """`decide` when a rule blocks: refused, or admitted on extra usage."""
    amounts, factors, views, blocking, shadow_refused = _evaluate(
        rules, state, multipliers, costs, now
    )
    charged, on_overage = _choose_charged(rules, views, blocking)
    if not on_overage:
        return _refused(rules, views, blocking, shadow_refused, now)
    return _on_extra_usage(rules, views, amounts, factors, charged, blocking, shadow_refused, now)


def _on_extra_usage(
    rules: Sequence[Rule],
    views: Sequence[_View],
    amounts: Sequence[float],
    factors: Sequence[float],
    charged: Sequence[int],
    blocking: Sequence[int],
    shadow_refused: Sequence[int],
    now: float,
) -> Decision:
    """An admission on extra usage: plan windows block, `charged` (overage first) pay."""
    updates: KeyState = {}
    charges = []
    charged_amounts = [0.0] * len(rules)
    for i in charged:
        charged_amounts[i] = amounts[i]
        charges.append(_charge(i, rules[i], views[i], amounts[i], factors[i], now, updates))
    statuses = tuple(
        [_status(rule, views[i], charged_amounts[i], now) for i, rule in enumerate(rules)]
    )
    return Decision(
        True,
        statuses,
        tuple(charges),
        updates,
        0.0,
        tuple(blocking),
        tuple(shadow_refused),
        True,
        now,
    )


def _bucket_level(rule: Rule, state: Mapping[str, float], now: float) -> float:
    """The level of a bucket at `now`, refilled since it was stored (full when never used)."""
    stored = state.get(rule.field_a)
    if stored is None:
        return rule.capacity
    return buckets.level_at(stored, state.get(rule.field_b, now), rule.capacity, rule.rate, now)


def settle(
    rules: Sequence[Rule],
    state: Mapping[str, float],
    charges: Sequence[Charge],
    actual: Costs,
    now: float,
) -> Settlement:
    """Replace each charge of an admission by the actual cost of the request."""
    updates: KeyState = {}
    adjustments: list[float] = []
    for index, amount, factor, period_start in charges:
        rule = rules[index]
        delta = getattr(actual, rule.dimension) * factor - amount
        if rule.kind == "bucket":
            capacity = rule.capacity
            level = _bucket_level(rule, state, now)
            settled = buckets.refund(level, -delta, capacity) if delta else level
            updates[rule.field_a] = settled
            updates[rule.field_b] = max(now, state.get(rule.field_b, now))
            adjustments.append((capacity - (capacity - level)) - settled)  # as the Lua script
            continue
        start, _end, running = _window_span(rule, state, now, True)
        used = state.get(rule.field_b, 0.0) if running else 0.0
        change = delta if running and start == period_start else max(0.0, delta)
        new_used = max(0.0, used + change)
        if new_used != used:
            updates[rule.field_a] = start
            updates[rule.field_b] = new_used
        adjustments.append(new_used - used)
    return _new(Settlement, (updates, tuple(adjustments), now))


def snapshot(
    rules: Sequence[Rule],
    state: Mapping[str, float],
    multipliers: Mapping[str, float],
    now: float,
) -> tuple[RuleStatus, ...]:
    """Every rule's status at `now` without charging or starting anything."""
    return tuple(
        _status(rule, _view(rule, state, multipliers, 0.0, now, starting=False), 0.0, now)
        for rule in rules
    )
