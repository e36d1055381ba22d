"""The continuous-batching step planner the engine and the simulator share: its limits as laws."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from fleetgate.batching import BatchLimits, admit, fits, next_step


@dataclass(frozen=True)
class _Job:
    prefill_tokens: int
    kv_need: int


jobs = st.lists(
    st.builds(
        _Job,
        prefill_tokens=st.integers(min_value=1, max_value=40_000),
        kv_need=st.integers(min_value=1, max_value=60_000),
    ),
    max_size=40,
)
limits = st.builds(
    BatchLimits,
    max_batch=st.integers(min_value=1, max_value=32),
    kv_capacity=st.integers(min_value=1, max_value=500_000),
    max_prefill_tokens=st.integers(min_value=1, max_value=50_000),
)


@given(waiting=jobs, limits=limits, running=st.integers(0, 40), used=st.floats(0.0, 1.0))
def test_admission_never_exceeds_slots_kv_or_the_prefill_budget(
    waiting: list[_Job], limits: BatchLimits, running: int, used: float
) -> None:
    kv_reserved = int(limits.kv_capacity * used)
    count = admit(waiting, limits, running=running, kv_reserved=kv_reserved)
    taken = waiting[:count]
    assert running + count <= max(limits.max_batch, running)
    assert kv_reserved + sum(job.kv_need for job in taken) <= limits.kv_capacity or count == 0
    # the budget holds, except for a head too long for it, which goes alone
    assert count <= 1 or sum(job.prefill_tokens for job in taken) <= limits.max_prefill_tokens
    if count < len(waiting) and running + count < limits.max_batch:
        nxt = waiting[count]
        room = limits.kv_capacity - kv_reserved - sum(job.kv_need for job in taken)
        spent = sum(job.prefill_tokens for job in taken)
        # FCFS and greedy: the next one was stopped by the KV room or the token budget
        assert nxt.kv_need > room or (
            count and spent + nxt.prefill_tokens > limits.max_prefill_tokens
        )


@given(waiting=jobs, limits=limits, running=st.integers(0, 40))
def test_a_step_prefills_when_the_head_fits_else_decodes_or_idles(
    waiting: list[_Job], limits: BatchLimits, running: int
) -> None:
    kind, count = next_step(waiting, limits, running=running, kv_reserved=0)
    head_fits = bool(waiting) and fits(waiting[0], limits, running=running, kv_reserved=0)
    assert (kind == "prefill") == head_fits == (count > 0)
    if not head_fits:
        assert kind == ("decode" if running else "idle")


def test_a_long_prompt_is_prefilled_alone_and_the_budget_splits_a_burst() -> None:
    limits = BatchLimits(max_batch=8, kv_capacity=1_000_000, max_prefill_tokens=16_384)
    assert admit([_Job(50_000, 50_100), _Job(10, 20)], limits, running=0, kv_reserved=0) == 1
    burst = [_Job(6_000, 6_100)] * 5
    assert admit(burst, limits, running=0, kv_reserved=0) == 2
    assert admit(burst, limits, running=7, kv_reserved=0) == 1
    assert admit(burst, limits, running=0, kv_reserved=1_000_000 - 6_100) == 1
