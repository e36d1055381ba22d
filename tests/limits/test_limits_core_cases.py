"""Worked cases of the pure limits core: multipliers, roll-over, debt, overage, shadow, TTL."""

from __future__ import annotations

import math

from limits_rules import bucket_rule, session_rule

from fleetgate.limits import core
from fleetgate.limits.rules import Costs, Rule


def test_multiplier_applies_from_the_next_request() -> None:
    rule = session_rule(capacity=100.0, multiplier_keys=("pro:five_hour",))
    state = dict(core.decide([rule], {}, {}, Costs(units=100.0), 0.0).updates)
    assert not core.decide([rule], state, {}, Costs(units=50.0), 10.0).admitted
    doubled = {"pro:five_hour": 2.0}
    after = core.decide([rule], state, doubled, Costs(units=50.0), 10.0)
    assert after.admitted
    assert after.statuses[0].capacity == 200.0


def test_settlement_after_a_window_rolled_over_charges_only_the_excess() -> None:
    rule = session_rule(capacity=100.0)
    admitted = core.decide([rule], {}, {}, Costs(units=40.0), 0.0)
    state = dict(admitted.updates)
    refund = core.settle([rule], state, admitted.charges, Costs(units=10.0), 18000.0 + 5)
    assert refund.updates == {}  # nothing refunded into the next window
    excess = core.settle([rule], state, admitted.charges, Costs(units=70.0), 18000.0 + 5)
    assert excess.updates[rule.field_b] == 30.0


def test_bucket_debt_refuses_even_free_requests_until_refilled() -> None:
    rule = bucket_rule(600.0, rule_id="otpm", name="output_tokens", dimension="output_tokens")
    admitted = core.decide([rule], {}, {}, Costs(output_tokens=0.0), 0.0)
    state = dict(admitted.updates)
    debt = core.settle([rule], state, admitted.charges, Costs(output_tokens=700.0), 0.0)
    state.update(debt.updates)
    assert state[rule.field_a] == -100.0
    refused = core.decide([rule], state, {}, Costs(output_tokens=0.0), 5.0)
    assert not refused.admitted
    assert math.isclose(refused.retry_after, 5.1)
    assert core.decide([rule], state, {}, Costs(output_tokens=0.0), 10.1).admitted


def test_overage_admits_when_only_plan_windows_refuse() -> None:
    window = session_rule(capacity=10.0)
    extra = Rule(
        id="extra_usage",
        name="extra_usage",
        kind="month",
        dimension="units",
        scope="plan",
        limit=15.0,
        capacity=15.0,
        overage=True,
    )
    rules = [window, extra]
    first = core.decide(rules, {}, {}, Costs(units=10.0), 0.0)
    assert first.admitted and not first.overage_in_use
    state = dict(first.updates)
    second = core.decide(rules, state, {}, Costs(units=10.0), 1.0)
    assert second.admitted and second.overage_in_use
    assert [c.rule_index for c in second.charges] == [1]
    state.update(second.updates)
    third = core.decide(rules, state, {}, Costs(units=10.0), 2.0)
    assert not third.admitted
    assert third.updates == {}


def test_shadow_rules_never_refuse_and_are_reported() -> None:
    shadow = bucket_rule(1.0, shadow=True)
    first = core.decide([shadow], {}, {}, Costs(requests=1.0), 0.0)
    state = dict(first.updates)
    second = core.decide([shadow], state, {}, Costs(requests=1.0), 1.0)
    assert second.admitted
    assert second.shadow_refused == (0,)
    assert second.updates == {}
