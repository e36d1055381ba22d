"""Unit tests of the engine's continuous-batching scheduler and step timers, with a fake timer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from fleetgate.engine.scheduler import BatchScheduler, InstantTokens
from fleetgate.engine.timers import LinearStepTimer
from fleetgate.errors import InternalError


@dataclass
class FakeTimer:
    """Prefill 1 ms per token; a decode step 10 ms per sequence plus 1 µs per KV token."""

    max_batch: int = 2
    kv_capacity_tokens: int = 1000

    def prefill_seconds(self, prompt_tokens: int) -> float:
        return prompt_tokens / 1000

    def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
        return 0.01 * batch_size + kv_tokens / 1e6


@dataclass
class StepLog:
    """A fake sleep recording each step's duration and the load when it started."""

    scheduler: BatchScheduler | None = None
    steps: list[tuple[float, int, int]] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        assert self.scheduler is not None
        self.steps.append((round(seconds, 9), self.scheduler.running, self.scheduler.waiting))
        await asyncio.sleep(0)


def make_scheduler(timer: FakeTimer) -> tuple[BatchScheduler, StepLog]:
    log = StepLog()
    scheduler = BatchScheduler(timer, sleep=log.sleep)
    log.scheduler = scheduler
    return scheduler, log


async def consume(scheduler: BatchScheduler, prompt: int, output: int) -> list[int]:
    seen: list[int] = []
    async for produced in scheduler.stream(prompt, output):
        seen.append(produced)
    return seen


def test_prefill_steps_yield_first_tokens_and_admission_is_fifo_up_to_max_batch() -> None:
    async def scenario() -> tuple[list[list[int]], list[tuple[float, int, int]]]:
        scheduler, log = make_scheduler(FakeTimer(max_batch=2))
        results = await asyncio.gather(*(consume(scheduler, 10, 2) for _ in range(3)))
        await scheduler.aclose()
        return results, log.steps

    results, steps = asyncio.run(scenario())
    assert results == [[1, 2], [1, 2], [1, 2]]
    assert steps == [
        (0.01 + 0.01, 2, 1),  # A and B admitted: their prefills yield their first tokens
        (0.02 + 22 / 1e6, 2, 1),  # A and B decode their second token and finish
        (0.01, 1, 0),  # C admitted once the batch has room: its prefill alone
        (0.01 + 11 / 1e6, 1, 0),
    ]


def test_a_prefill_step_takes_at_most_max_prefill_tokens_unless_one_prompt_is_longer() -> None:
    # issue 13: the engine now caps a prefill step like the simulator (`fleetgate.batching`)
    async def scenario() -> list[tuple[float, int, int]]:
        log = StepLog()
        timer = FakeTimer(max_batch=4, kv_capacity_tokens=10_000)
        scheduler = log.scheduler = BatchScheduler(timer, sleep=log.sleep, max_prefill_tokens=500)
        await asyncio.gather(
            consume(scheduler, 900, 1), consume(scheduler, 300, 1), consume(scheduler, 200, 1)
        )
        await scheduler.aclose()
        return log.steps

    assert asyncio.run(scenario()) == [
        (0.9, 1, 2),  # the 900-token prompt alone: longer than the budget, it is not held back
        (0.5, 2, 0),  # 300 + 200 tokens fit one step's budget
    ]


def test_a_prefill_step_stalls_the_running_batch() -> None:
    async def scenario() -> tuple[list[list[int]], list[tuple[float, int, int]]]:
        log = StepLog()
        later: list[asyncio.Task[list[int]]] = []

        async def sleep(seconds: float) -> None:
            if not later:  # B arrives during A's prefill
                later.append(asyncio.create_task(consume(scheduler, 20, 2)))
            await log.sleep(seconds)

        scheduler = log.scheduler = BatchScheduler(FakeTimer(max_batch=4), sleep=sleep)
        first = await consume(scheduler, 10, 3)
        second = await later[0]
        await scheduler.aclose()
        return [first, second], log.steps

    results, steps = asyncio.run(scenario())
    assert results == [[1, 2, 3], [1, 2]]
    assert steps == [
        (0.01, 1, 0),  # A's prefill yields its first token
        (0.02, 2, 0),  # B's prefill: A waits, producing nothing
        (0.02 + (11 + 21) / 1e6, 2, 0),  # A's second token, B's second and last
        (0.01 + 12 / 1e6, 1, 0),  # A's third and last
    ]


def test_kv_capacity_limits_admission_and_is_freed_on_finish() -> None:
    async def scenario() -> list[tuple[float, int, int]]:
        scheduler, log = make_scheduler(FakeTimer(max_batch=8, kv_capacity_tokens=100))
        await asyncio.gather(consume(scheduler, 50, 3), consume(scheduler, 48, 3))
        assert scheduler.kv_usage == 0.0
        await scheduler.aclose()
        return log.steps

    steps = asyncio.run(scenario())
    # 53 + 51 > 100: the second sequence waits for the first although the batch has room
    assert [(running, waiting) for _, running, waiting in steps] == [(1, 1)] * 3 + [(1, 0)] * 3


def test_cancel_removes_waiting_and_running_sequences_at_once() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()

        async def blocked_sleep(seconds: float) -> None:
            await gate.wait()

        scheduler = BatchScheduler(FakeTimer(max_batch=1), sleep=blocked_sleep)
        first = scheduler.submit(10, 5)
        second = scheduler.submit(10, 5)
        await asyncio.sleep(0.01)  # the first step starts and blocks in its sleep
        assert (scheduler.running, scheduler.waiting) == (1, 1)
        assert scheduler.kv_usage == pytest.approx(15 / 1000)
        scheduler.cancel(second)
        assert (scheduler.running, scheduler.waiting) == (1, 0)
        scheduler.cancel(first)
        assert (scheduler.running, scheduler.waiting, scheduler.kv_usage) == (0, 0, 0.0)
        assert first.state == second.state == "cancelled"
        gate.set()
        await scheduler.aclose()

    asyncio.run(scenario())


def test_closing_the_stream_early_cancels_the_sequence() -> None:
    async def scenario() -> None:
        scheduler, _log = make_scheduler(FakeTimer())
        tokens = scheduler.stream(5, 100)
        assert await anext(tokens) == 1
        assert scheduler.running == 1
        await tokens.aclose()
        assert scheduler.running == 0
        assert scheduler.kv_usage == 0.0
        await scheduler.aclose()

    asyncio.run(scenario())


def test_oversized_sequences_are_refused_and_a_failing_timer_fails_consumers() -> None:
    class BrokenTimer(FakeTimer):
        def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
            raise ZeroDivisionError("broken")

    async def scenario() -> None:
        scheduler = BatchScheduler(FakeTimer(kv_capacity_tokens=100))
        with pytest.raises(ValueError, match="never fit"):
            scheduler.submit(90, 11)
        broken = BatchScheduler(BrokenTimer())
        with pytest.raises(InternalError):
            await consume(broken, 1, 3)
        await broken.aclose()

    asyncio.run(scenario())


def test_instant_tokens_hand_out_everything_at_once() -> None:
    async def scenario() -> list[int]:
        source = InstantTokens()
        return [produced async for produced in source.stream(10, 7)]

    assert asyncio.run(scenario()) == [7]


def test_linear_step_timer_formula() -> None:
    timer = LinearStepTimer(
        prefill_tokens_per_s=1000,
        decode_step_ms=10,
        decode_step_ms_per_seq=0.5,
        decode_step_ms_per_1k_kv=2,
    )
    assert timer.prefill_seconds(500) == pytest.approx(0.5)
    assert timer.decode_step_seconds(4, 3000) == pytest.approx((10 + 2 + 6) / 1000)
    with pytest.raises(ValueError):
        LinearStepTimer(prefill_tokens_per_s=0)
