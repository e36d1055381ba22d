"""Property tests of the pure limits core against a tiny, independently written reference model.

Times, rates and costs are whole numbers (limits are multiples of 60 per minute) so both models
compute exactly and decisions can be compared exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from limits_rules import session_rule, weekly_rule

from fleetgate.limits import core
from fleetgate.limits.rules import Costs, Rule

# --------------------------------------------------------------------------- reference model


@dataclass
class RefBucket:
    capacity: float
    rate: float
    level: float
    ts: float

    def now_level(self, now: float) -> float:
        return min(self.capacity, self.level + max(0.0, now - self.ts) * self.rate)


@dataclass
class RefWindow:
    kind: str
    capacity: float
    period: float
    phase: float = 0.0
    start: float | None = None
    used: float = 0.0

    def current(self, now: float) -> tuple[float, float]:
        """(start, used) of the window a request at now would be charged to."""
        if self.kind == "session":
            if self.start is not None and self.start <= now < self.start + self.period:
                return self.start, self.used
            return now, 0.0
        start = self.phase + ((now - self.phase) // self.period) * self.period
        return start, self.used if self.start == start else 0.0


@dataclass
class RefModel:
    limits: list[RefBucket | RefWindow]
    dims: list[str]
    multiplier: float = 1.0
    pending: list[list[tuple[int, float, float]]] = field(default_factory=list)

    def admit(self, costs: Costs, now: float) -> bool:
        plan = []
        for item, dim in zip(self.limits, self.dims, strict=True):
            cost = costs.of(dim)  # type: ignore[arg-type]
            if isinstance(item, RefBucket):
                level = item.now_level(now) if item.ts <= now else item.level
                if level < max(cost, 1.0):
                    return False
                plan.append((item, level - cost, cost, 0.0))
            else:
                start, used = item.current(now)
                cap = item.capacity * self.multiplier
                if not (used < cap and used + cost <= cap):
                    return False
                plan.append((item, used + cost, cost, start))
        charges = []
        for index, (item, value, cost, start) in enumerate(plan):
            if isinstance(item, RefBucket):
                item.level, item.ts = value, max(item.ts, now)
            else:
                item.start, item.used = start, value
            charges.append((index, cost, start))
        self.pending.append(charges)
        return True


def build(spec: list[tuple[str, int, int]]) -> tuple[list[Rule], RefModel]:
    rules: list[Rule] = []
    ref: list[RefBucket | RefWindow] = []
    dims = []
    for n, (kind, size, extra) in enumerate(spec):
        if kind == "bucket":
            per_minute = 60 * size
            rules.append(
                Rule(
                    id=f"b{n}",
                    name="input_tokens",
                    kind="bucket",
                    dimension="input_tokens",
                    scope="organization",
                    limit=per_minute,
                    capacity=per_minute,
                    rate=per_minute / 60,
                )
            )
            ref.append(RefBucket(per_minute, per_minute / 60, per_minute, 0.0))
            dims.append("input_tokens")
        else:
            period = 100.0 * extra
            rules.append(
                Rule(
                    id=f"w{n}",
                    name="five_hour",
                    kind=kind,
                    dimension="units",  # type: ignore[arg-type]
                    scope="plan",
                    limit=size,
                    capacity=size,
                    period=period,
                    phase=7.0,
                    multiplier_keys=("p:w",),
                )
            )
            ref.append(RefWindow(kind, size, period, phase=7.0))
            dims.append("units")
    return rules, RefModel(ref, dims)


rule_specs = st.lists(
    st.tuples(
        st.sampled_from(["bucket", "session", "fixed"]),
        st.integers(1, 50),
        st.integers(1, 5),
    ),
    min_size=1,
    max_size=4,
)
operations = st.lists(
    st.tuples(
        st.integers(0, 400),  # seconds to wait first
        st.sampled_from(["admit", "admit", "settle", "multiplier"]),
        st.integers(0, 60),  # input tokens / units
        st.integers(0, 60),  # actual usage at settlement
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(rule_specs, operations)
def test_core_matches_reference_model(spec, ops) -> None:
    rules, ref = build(spec)
    state: dict[str, float] = {}
    multipliers: dict[str, float] = {}
    now = 1000.0
    open_charges = []
    for wait, op, amount, actual in ops:
        now += wait
        if op == "multiplier":
            factor = 1.0 + (amount % 3)
            multipliers["p:w"] = factor
            ref.multiplier = factor
            continue
        if op == "settle":
            if not open_charges:
                continue
            charges = open_charges.pop(0)
            ref.pending.pop(0)
            before = dict(state)
            cost = Costs(1, actual, 0, actual)
            result = core.settle(rules, before, charges, cost, now)
            for charge, adjustment in zip(charges, result.adjustments, strict=True):
                assert adjustment >= -charge.amount - 1e-9  # refunds never exceed reservations
            state.update(result.updates)
            sync_reference(rules, ref, state)
            continue
        costs = Costs(1, amount, 0, amount)
        before = dict(state)
        decision = core.decide(rules, state, multipliers, costs, now)
        expected = ref.admit(costs, now)
        assert decision.admitted == expected
        if not decision.admitted:
            assert decision.updates == {}  # a refusal consumes nothing
            assert decision.retry_after > 0
            continue
        state.update(decision.updates)
        open_charges.append(decision.charges)
        for rule, status in zip(rules, decision.statuses, strict=True):
            assert status.remaining >= -1e-9  # never over-admit
            if rule.kind == "bucket":
                assert state[rule.field_a] >= 0
            else:
                assert state[rule.field_b] <= rule.capacity * multipliers.get("p:w", 1.0)
        assert before is not state


def sync_reference(rules: list[Rule], ref: RefModel, state: dict[str, float]) -> None:
    """After a settlement, carry the core's state into the reference (settle is checked apart)."""
    for rule, item in zip(rules, ref.limits, strict=True):
        if isinstance(item, RefBucket):
            item.level = state.get(rule.field_a, item.level)
            item.ts = state.get(rule.field_b, item.ts)
        else:
            item.start = state.get(rule.field_a, item.start)
            item.used = state.get(rule.field_b, item.used)


# --------------------------------------------------------------------------- focused properties


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 17999))
def test_session_window_resets_exactly_at_its_boundary(first: int, later: int) -> None:
    rule = session_rule()
    start = float(first)
    decision = core.decide([rule], {}, {}, Costs(units=100.0), start)
    state = dict(decision.updates)
    assert state[rule.field_a] == start
    # just before the boundary: still full
    inside = core.decide([rule], state, {}, Costs(units=1.0), start + later)
    assert not inside.admitted
    assert math.isclose(inside.retry_after, 18000.0 - later)
    boundary = core.decide([rule], state, {}, Costs(units=1.0), start + 18000.0)
    assert boundary.admitted
    assert boundary.updates[rule.field_a] == start + 18000.0


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.integers(0, 3599))
def test_session_start_can_be_floored_to_the_hour(hour: int, minute_offset: int) -> None:
    rule = session_rule(floor_to_hour=True)
    now = hour * 3600.0 + minute_offset
    decision = core.decide([rule], {}, {}, Costs(units=1.0), now)
    assert decision.updates[rule.field_a] == hour * 3600.0
    assert decision.statuses[0].reset_at == hour * 3600.0 + 18000.0


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 604799), st.integers(0, 10**9))
def test_fixed_windows_keep_their_phase(phase: int, moment: int) -> None:
    rule = weekly_rule(10.0, phase=float(phase))
    decision = core.decide([rule], {}, {}, Costs(units=10.0), float(moment))
    start = decision.updates[rule.field_a]
    assert start <= moment < start + 604800.0
    assert (start - phase) % 604800.0 == 0
    assert not core.decide(
        [rule], decision.updates, {}, Costs(units=1.0), start + 604799.0
    ).admitted
    assert core.decide([rule], decision.updates, {}, Costs(units=1.0), start + 604800.0).admitted


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 10**4)), min_size=1, max_size=5),
    st.integers(0, 2 * 10**6),
    st.floats(1.5, 4.0),
)
def test_peak_multiplier_applies_only_inside_the_spans(raw_spans, moment, factor) -> None:
    spans = tuple((float(s), float(s + length)) for s, length in raw_spans)
    rule = session_rule(1e12, peak_factor=factor, peak_spans=spans)
    decision = core.decide([rule], {}, {}, Costs(units=10.0), float(moment))
    inside = any(s <= moment < e for s, e in spans)
    assert decision.charges[0].amount == (10.0 * factor if inside else 10.0)
    assert decision.charges[0].factor == (factor if inside else 1.0)
