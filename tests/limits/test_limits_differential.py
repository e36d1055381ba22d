"""Differential property test: the Lua script against the Python core, operation by operation.

Random rules (buckets, session, fixed and month windows, peak spans, live multipliers, shadow and
overage rules) and random sequences of admissions, settlements, multiplier changes, reads and
clock moves run through the Redis store and through `core` on a Python dict. Every decision,
settlement and status, and the stored numbers after every step, must be identical (exact floats).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetgate.limits import core
from fleetgate.limits.rules import Charge, Costs, KeyState, Rule
from fleetgate.limits.stores.redis import RedisStore, open_redis_store, state_key

pytestmark = pytest.mark.redis

STARTS = (
    1_764_590_400.123,  # 2025-12-01, a Monday
    1_767_135_600.5,  # 2025-12-30T23:00Z, 25 hours before a month (and year) boundary
    1_709_164_800.0,  # 2024-02-29, a leap day
)
KINDS = ("bucket", "session", "fixed", "month")
DIMS = ("requests", "input_tokens", "output_tokens", "units")

amounts = st.one_of(
    st.integers(0, 3_000).map(float),
    st.sampled_from([0.0, 1.0, 2.0, 300.0, 1_000.0, 2_500.0]),
    st.floats(0.0, 3_000.0, allow_nan=False, allow_infinity=False),
)


@st.composite
def rule_sets(draw: st.DrawFn, prefix: str, start: float) -> tuple[Rule, ...]:
    count = draw(st.integers(1, 5))
    rules = []
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        capacity = draw(st.sampled_from([1.0, 5.0, 60.0, 1_000.0, 4_321.5, 50_000.0]))
        spans: tuple[tuple[float, float], ...] = ()
        if draw(st.booleans()):
            first = start + draw(st.floats(-3_600.0, 20_000.0))
            spans = ((first, first + draw(st.floats(1.0, 30_000.0))),)
        rules.append(
            Rule(
                id=f"r{index}",
                name=f"rule{index}",
                kind=kind,
                dimension=draw(st.sampled_from(DIMS)),
                scope="plan",
                limit=capacity,
                capacity=capacity,
                rate=capacity / draw(st.sampled_from([1.0, 60.0, 7.5])) if kind == "bucket" else 0,
                period=draw(st.sampled_from([60.0, 18_000.0, 604_800.0])),
                phase=draw(st.floats(0.0, 604_800.0)),
                floor_to_hour=draw(st.booleans()),
                overage=kind == "month" and draw(st.booleans()),
                shadow=draw(st.integers(0, 5)) == 0,
                peak_factor=draw(st.sampled_from([1.0, 2.0, 1.5, 0.3])),
                peak_spans=spans,
                multiplier_keys=tuple(
                    f"{prefix}:{name}"
                    for name in draw(st.sets(st.sampled_from("ab")))
                    if kind != "bucket"
                ),
            )
        )
    if draw(st.booleans()):
        capacity = draw(st.sampled_from([1.0, 300.0, 2_500.0]))
        rules.append(
            Rule("extra", "extra_usage", "month", "units", "plan", capacity, capacity, overage=True)
        )
    return tuple(rules)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), amounts, amounts, amounts, amounts),
        st.tuples(st.just("settle"), amounts, amounts, amounts, amounts),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 0.25, 1.0, 59.9, 3_600.0, 86_400.0 * 9])),
        st.tuples(st.just("wait"), st.floats(0.0, 40_000.0)),
        st.tuples(st.just("multiplier"), st.sampled_from("ab"), st.sampled_from([1.0, 2.0, 0.5])),
        st.tuples(st.just("peek")),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Model:
    """The Python side: the core on a dict, exactly as the memory store runs it."""

    state: KeyState = field(default_factory=dict)
    multipliers: dict[str, float] = field(default_factory=dict)
    admitted: list[tuple[Charge, ...]] = field(default_factory=list)


async def replay(
    store: RedisStore, key: str, prefix: str, rules: tuple[Rule, ...], ops: list[Any], now: float
) -> None:
    model = Model()
    for op in ops:
        kind = op[0]
        if kind == "wait":
            now += op[1]
        elif kind == "admit":
            costs = Costs(*op[1:])
            got = await store.admit(key, rules, costs, now)
            want = core.decide(rules, model.state, model.multipliers, costs, now)
            assert got == want, (op, got, want)
            model.state.update(want.updates)
            if want.charges:
                model.admitted.append(want.charges)
        elif kind == "settle" and model.admitted:
            charges = model.admitted.pop(0)
            actual = Costs(*op[1:])
            got_settlement = await store.settle(key, rules, charges, actual, now)
            want_settlement = core.settle(rules, model.state, charges, actual, now)
            assert got_settlement == want_settlement, (op, got_settlement, want_settlement)
            model.state.update(want_settlement.updates)
        elif kind == "multiplier":
            name = f"{prefix}:{op[1]}"
            await store.set_multiplier(name, op[2])
            if op[2] == 1.0:
                model.multipliers.pop(name, None)
            else:
                model.multipliers[name] = op[2]
        elif kind == "peek":
            statuses = await store.peek(key, rules, now)
            assert statuses == core.snapshot(rules, model.state, model.multipliers, now)
        assert await store.state_of(key) == model.state, op


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("full", [True, False], ids=["script-figures", "production-replies"])
@given(data=st.data(), ops=operations)
def test_lua_script_and_python_core_agree(
    redis_url: str, full: bool, data: st.DataObject, ops: list[Any]
) -> None:
    """With full replies every figure of a decision or settlement is the script's own; with
    production replies the script reports its verdict and the stored numbers are compared."""
    prefix = f"diff-{uuid.uuid4().hex[:8]}"
    start = data.draw(st.sampled_from(STARTS))
    rules = data.draw(rule_sets(prefix, start))
    key = f"plan:{prefix}"

    async def main() -> None:
        store = open_redis_store(redis_url)
        store.full_replies = full
        try:
            await replay(store, key, prefix, rules, ops, start)
        finally:
            await store.client.delete(state_key(key), store.multiplier_key(key))
            await store.close()

    asyncio.run(main())


def test_month_boundaries_agree_across_years(redis_url: str) -> None:
    """The civil-date arithmetic of the script and of `windows.month_bounds` agree on every
    month boundary from 1970 to 2100 (a request one second before and at each boundary)."""
    rule = Rule("m", "monthly", "month", "units", "plan", 10.0, 10.0)

    async def main() -> None:
        store = open_redis_store(redis_url)
        key = f"plan:months-{uuid.uuid4().hex[:8]}"
        try:
            moment = 0.0
            for _ in range(12 * 130):
                _start, end = core.windows.month_bounds(moment)
                for now in (end - 1.0, end):
                    got = await store.admit(key, (rule,), Costs(units=1.0), now)
                    want_start = core.windows.month_bounds(now)[0]
                    assert got.charges[0].period_start == want_start, now
                moment = end
        finally:
            await store.client.delete(state_key(key))
            await store.close()

    asyncio.run(main())


DIRECTED: list[tuple[str, tuple[Rule, ...], list[Any]]] = [
    (
        "extra usage exhausted a day before the month ends: retry when the month turns",
        (
            Rule(
                "w", "seven_day", "fixed", "units", "plan", 100.0, 100.0, 0.0, 604_800.0, 259_200.0
            ),
            Rule("x", "extra_usage", "month", "units", "plan", 50.0, 50.0, overage=True),
        ),
        [("admit", 0, 0, 0, 100.0), ("admit", 0, 0, 0, 40.0), ("admit", 0, 0, 0, 20.0)],
    ),
    (
        "a bucket in debt refuses even a request that costs nothing in its dimension",
        (Rule("o", "output_tokens", "bucket", "output_tokens", "organization", 60.0, 60.0, 1.0),),
        [
            ("admit", 1.0, 0, 0, 0),
            ("settle", 0, 0, 500.0, 0),
            ("admit", 1.0, 0, 0, 0),
            ("wait", 439.5),
            ("admit", 1.0, 0, 0, 0),
        ],
    ),
    (
        "a refund for a window that rolled over leaves the new window alone",
        (Rule("s", "five_hour", "session", "units", "plan", 100.0, 100.0, period=18_000.0),),
        [
            ("admit", 0, 0, 0, 60.0),
            ("wait", 18_000.0),
            ("admit", 0, 0, 0, 30.0),
            ("settle", 0, 0, 0, 10.0),
            ("peek",),
        ],
    ),
    (
        "a cost above the window's whole budget can never fit",
        (Rule("w", "seven_day", "fixed", "units", "plan", 10.0, 10.0, period=604_800.0),),
        [("admit", 0, 0, 0, 10.5), ("peek",), ("admit", 0, 0, 0, 10.0)],
    ),
]


@pytest.mark.parametrize(("title", "rules", "ops"), DIRECTED, ids=[d[0][:40] for d in DIRECTED])
def test_directed_sequences_agree(
    redis_url: str, title: str, rules: tuple[Rule, ...], ops: list[Any]
) -> None:
    key = f"plan:directed-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        store = open_redis_store(redis_url)
        store.full_replies = True
        try:
            await replay(store, key, "directed", rules, ops, STARTS[1])
        finally:
            await store.client.delete(state_key(key))
            await store.close()

    asyncio.run(main())
