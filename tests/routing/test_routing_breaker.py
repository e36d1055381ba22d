"""The circuit breaker state machine of one backend."""

from __future__ import annotations

import random

import pytest

from fleetgate.routing.breaker import CircuitBreaker
from fleetgate.routing.config import BreakerSettings

NO_JITTER = BreakerSettings(
    consecutive_failures=3, open_s=10.0, max_open_s=35.0, jitter=0.0, min_requests=1000
)


def test_consecutive_failures_open_and_successes_reset() -> None:
    breaker = CircuitBreaker(NO_JITTER)
    rng = random.Random(1)
    breaker.record(False, 0.0, rng)
    breaker.record(False, 0.1, rng)
    breaker.record(True, 0.2, rng)  # resets the streak
    breaker.record(False, 0.3, rng)
    assert not breaker.record(False, 0.4, rng)
    assert breaker.state_at(0.4) == "closed"
    assert breaker.record(False, 0.5, rng)
    assert breaker.state_at(0.5) == "open"
    assert not breaker.allows(10.4)
    assert breaker.reopen_at == pytest.approx(10.5)
    assert "3 consecutive failures" in breaker.last_reason


def test_half_open_admits_limited_trials_then_closes_on_success() -> None:
    breaker = CircuitBreaker(NO_JITTER)
    rng = random.Random(1)
    breaker.trip(0.0, rng, "operator")
    assert breaker.state_at(9.9) == "open"
    assert breaker.allows(10.0)
    assert breaker.state == "half_open"
    breaker.on_begin(10.0)
    assert not breaker.allows(10.0)  # one trial at a time
    breaker.on_abandon(10.5)  # client went away: the slot comes back
    assert breaker.allows(10.5)
    breaker.on_begin(10.5)
    assert breaker.record(True, 11.0, rng)
    assert breaker.state_at(11.0) == "closed"
    assert breaker.opened_count == 0


def test_failed_trial_reopens_with_doubled_capped_time() -> None:
    breaker = CircuitBreaker(NO_JITTER)
    rng = random.Random(1)
    breaker.trip(0.0, rng, "x")
    breaker.on_begin(10.0)
    breaker.record(False, 10.0, rng)
    assert breaker.state == "open"
    assert breaker.reopen_at == pytest.approx(30.0)  # 10 s, then 20 s
    breaker.on_begin(30.0)
    breaker.record(False, 30.0, rng)
    assert breaker.reopen_at == pytest.approx(65.0)  # 40 s capped at 35 s
    assert "trial" in breaker.last_reason


def test_outcomes_while_open_are_ignored() -> None:
    breaker = CircuitBreaker(NO_JITTER)
    rng = random.Random(1)
    breaker.trip(0.0, rng, "x")
    assert not breaker.record(True, 1.0, rng)
    assert breaker.state_at(1.0) == "open"


def test_error_rate_opens_with_enough_requests() -> None:
    settings = BreakerSettings(consecutive_failures=100, error_rate=0.5, min_requests=10)
    breaker = CircuitBreaker(settings)
    rng = random.Random(1)
    for n in range(9):
        breaker.record(n % 2 == 0, float(n), rng)  # 4 failures of 9: too few requests
    assert breaker.state == "closed"
    breaker.record(False, 9.0, rng)  # 5 of 10 fail
    assert breaker.state_at(9.0) == "open"
    assert "error rate 50%" in breaker.last_reason


def test_jitter_spreads_reopen_times_within_bounds() -> None:
    settings = BreakerSettings(open_s=10.0, jitter=0.2)
    rng = random.Random(7)
    deadlines = set()
    for _ in range(50):
        breaker = CircuitBreaker(settings)
        breaker.trip(0.0, rng, "x")
        deadlines.add(round(breaker.reopen_at, 6))
    assert len(deadlines) > 40
    assert min(deadlines) >= 8.0 and max(deadlines) <= 12.0
