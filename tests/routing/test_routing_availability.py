"""Availability math, checked by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetgate.routing.availability import (
    AvailabilityTracker,
    RollingRatio,
    WindowGroup,
    bucket_end,
    burn_rate,
    nines,
)
from fleetgate.routing.config import AvailabilitySettings


def test_nines_by_hand() -> None:
    assert nines(0.9) == pytest.approx(1.0)
    assert nines(0.99) == pytest.approx(2.0)
    assert nines(0.991) == pytest.approx(-math.log10(0.009))  # the 99.1 % uptime: ~2.05 nines
    assert nines(0.99999) == pytest.approx(5.0)
    assert nines(0.0) == 0.0
    assert nines(1.0) == math.inf
    with pytest.raises(ValueError, match="lies in"):
        nines(1.5)


def test_burn_rate_by_hand() -> None:
    # 99.1 % measured against a 99.999 % SLO burns the budget 900 times too fast.
    assert burn_rate(0.991, 0.99999) == pytest.approx(900.0)
    assert burn_rate(0.999, 0.999) == pytest.approx(1.0)
    assert burn_rate(1.0, 0.99) == 0.0
    with pytest.raises(ValueError, match="strictly between"):
        burn_rate(0.5, 1.0)


def test_rolling_ratio_counts_and_slides() -> None:
    window = RollingRatio(60.0, buckets=6)  # 10 s buckets
    assert window.ratio(0.0) is None
    for second in range(10):
        window.record(second != 3, float(second))
    assert window.counts(9.0) == (9, 10)
    window.record(False, 15.0)
    assert window.counts(15.0) == (9, 11)
    # at t=65 the bucket [0, 10) has left the window; [10, 20) is still in it
    assert window.counts(65.0) == (0, 1)
    assert window.counts(200.0) == (0, 0)
    assert window.ratio(200.0) is None


def test_rolling_ratio_counts_late_events_into_newest_bucket() -> None:
    window = RollingRatio(10.0, buckets=10)
    window.record(True, 5.0)
    window.record(False, 3.0)
    assert window.counts(5.0) == (1, 2)


def test_rolling_ratio_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match="positive"):
        RollingRatio(0.0)


def test_tracker_scopes_and_report() -> None:
    tracker = AvailabilityTracker(AvailabilitySettings(slo=0.99, windows_s=(100.0,), buckets=10))
    for n in range(100):
        tracker.record_attempt("p1#0", "p1", "s1", ok=n >= 2, now=float(n) * 0.5)
    tracker.record_attempt("p2#0", "p2", "s1", ok=True, now=50.0)
    for n in range(10):
        tracker.record_request(ok=n != 0, now=50.0)
    report = {(r.scope, r.id): r for r in tracker.report(50.0)}
    backend = report[("backend", "p1#0")]
    assert (backend.successes, backend.attempts) == (98, 100)
    assert backend.ratio == pytest.approx(0.98)
    assert backend.nines == pytest.approx(-math.log10(0.02))
    assert backend.burn_rate == pytest.approx(2.0)
    site = report[("site", "s1")]
    assert (site.successes, site.attempts) == (99, 101)
    assert report[("pool", "p2")].ratio == 1.0
    e2e = report[("end_to_end", "all")]
    assert e2e.ratio == pytest.approx(0.9)
    assert e2e.burn_rate == pytest.approx(10.0)
    perfect = next(d for d in tracker.snapshot(50.0, "pool") if d["id"] == "p2")
    assert perfect["nines"] is None and perfect["perfect"] is True
    assert all(d["scope"] == "pool" for d in tracker.snapshot(50.0, "pool"))


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["record", "read"]),
            st.integers(0, 80).map(lambda quarter: quarter / 4.0),
            st.booleans(),
        ),
        max_size=60,
    ),
    start=st.sampled_from([0.0, 1.78e9, 1.78e9 + 0.1]),  # epoch seconds round
)
def test_window_group_counts_exactly_as_separate_windows(
    steps: list[tuple[str, float, bool]], start: float
) -> None:
    """Gathering records below the next bucket boundary changes no count, whatever the times
    (late records and reads included)."""
    shapes = ((4.0, 4), (30.0, 6), (100.0, 10))
    group = WindowGroup(tuple(RollingRatio(w, b) for w, b in shapes))
    separate = [RollingRatio(w, b) for w, b in shapes]
    clock = start
    for kind, offset, ok in steps:  # in any order: late records count into the newest bucket
        now = start + offset
        clock = max(clock, now)
        if kind == "record":
            group.record(ok, now)
            for window in separate:
                window.record(ok, now)
        else:
            group.flush()
            for mine, theirs in zip(group.windows, separate, strict=True):
                assert mine.counts(now) == theirs.counts(now)
    group.flush()
    for mine, theirs in zip(group.windows, separate, strict=True):
        assert mine.counts(clock) == theirs.counts(clock)


@given(
    bucket=st.integers(0, 10**9),
    width=st.sampled_from([0.1, 0.5, 1.0, 5.0, 60.0, 1440.0, 1 / 3]),
)
def test_bucket_end_is_the_exact_boundary(bucket: int, width: float) -> None:
    end = bucket_end(bucket, width)
    assert math.floor(end / width) > bucket
    assert math.floor(math.nextafter(end, -math.inf) / width) <= bucket
