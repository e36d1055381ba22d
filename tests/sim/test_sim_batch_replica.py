"""Continuous batching on virtual time, against hand-computed times with a linear timer."""

from __future__ import annotations

import pytest

from fleetgate.sim.batch_replica import BatchTiming, Counters, Job, Replica
from fleetgate.sim.loop import EventLoop


class LinearTimer:
    """prefill 1 ms per token; decode 10 ms + 1 ms per sequence + 1 us per context token."""

    max_batch = 8
    kv_capacity_tokens = 10_000

    def prefill_seconds(self, prompt_tokens: int) -> float:
        return prompt_tokens * 0.001

    def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
        return 0.010 + 0.001 * batch_size + 1e-6 * kv_tokens


class Sink:
    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.failed: dict[str, int] = {}

    def on_first_token(self, job: Job, at: float) -> None:
        self.first[job.owner] = at

    def on_finish(self, job: Job, at: float) -> None:
        self.done[job.owner] = at

    def on_fail(self, job: Job, at: float, produced: int) -> None:
        self.failed[job.owner] = produced


def make() -> tuple[EventLoop, Sink, Replica]:
    loop, sink = EventLoop(), Sink()
    replica = Replica(BatchTiming(LinearTimer(), 8), loop, sink, Counters(), 4096)
    return loop, sink, replica


def test_one_request_takes_prefill_then_one_step_per_token() -> None:
    loop, sink, replica = make()
    replica.enqueue(Job(100, 100, 5, "a"), 0.0)
    loop.run(100.0)
    assert sink.first["a"] == pytest.approx(0.1)
    # 4 decode steps after the first token, context 101, 102, 103, 104
    steps = sum(0.011 + 1e-6 * (101 + i) for i in range(4))
    assert sink.done["a"] == pytest.approx(0.1 + steps)
    assert replica.tokens_out == 5
    assert replica.busy_until(100.0) == pytest.approx(sink.done["a"])


def test_a_late_arrival_joins_at_the_next_step_boundary() -> None:
    loop, sink, replica = make()
    replica.enqueue(Job(10, 10, 100, "a"), 0.0)
    loop.run(0.05)
    replica.enqueue(Job(20, 20, 3, "b"), loop.now)
    loop.run(100.0)
    # a's first token at 0.01; steps of ~11 ms; b joins at the end of the step in flight
    assert 0.05 < sink.first["b"] < 0.05 + 0.012 + 0.02 + 1e-6
    assert sink.done["b"] < sink.done["a"]
    assert replica.counters.running == 0 and replica.counters.kv_reserved == 0


def test_a_crash_fails_every_request_with_the_tokens_produced() -> None:
    loop, sink, replica = make()
    replica.enqueue(Job(10, 10, 1000, "a"), 0.0)
    loop.run(1.0)
    replica.fail_all(loop.now)
    assert 50 < sink.failed["a"] < 100
    assert replica.load == 0
    loop.run(100.0)
    assert "a" not in sink.done
