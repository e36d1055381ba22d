"""One simulated inference replica: vLLM-style continuous batching on virtual time.

Owns the schedule of one engine on virtual time. What each step does (FCFS admission while batch
slots, KV cache and the prefill token budget allow; prefill of the admitted prompts as one step
that stalls decoding; otherwise one decode step for every running sequence) is the rule of
`fleetgate.batching`, the one the engine runs on the real clock too.

Decode steps are not events. While the batch does not change, k steps take

    T(k) = f * (k * A(b) + S * (k * kv0 + b * k * (k - 1) / 2))

where A(b) is the step time of b sequences with no context, S the time per context token, kv0
the context held at the segment start and f the site's slowdown. That is exact for the roofline
step timer (its decode step is affine in the context) and a linear fit for any other StepTimer.
So a replica needs an event only when the batch changes: a prefill ends, the next sequence
finishes, or a new request may join at the end of the step in flight.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from fleetgate.batching import BatchLimits, admit, fits
from fleetgate.seams import StepTimer
from fleetgate.sim.loop import PRIORITY_COMPLETION, EventLoop

IDLE, PREFILL, DECODE = 0, 1, 2
SLOPE_PROBE_TOKENS = 100_000
PREFILL_MEMO_LIMIT = 1 << 18
"""Distinct prompt lengths whose prefill time a `BatchTiming` keeps (a few MB at most)."""
TIME_EPSILON_S = 1e-6
"""Tolerance for virtual times: epoch seconds near 1.8e9 carry about 0.24 us of rounding."""


class Job:
    """One request on a replica: tokens to prefill, context held, tokens to generate.

    `kv_need` is the KV cache reserved at admission: the whole context and every output token.
    """

    __slots__ = (
        "context_tokens",
        "finish_step",
        "kv_need",
        "output_tokens",
        "owner",
        "prefill_tokens",
    )

    def __init__(
        self, prefill_tokens: int, context_tokens: int, output_tokens: int, owner: Any
    ) -> None:
        self.prefill_tokens = prefill_tokens
        self.context_tokens = context_tokens
        self.output_tokens = output_tokens
        self.owner = owner
        self.finish_step = 0
        self.kv_need = context_tokens + output_tokens


class JobSink(Protocol):
    """Who hears about jobs: first token, normal end, failure (with tokens produced)."""

    def on_first_token(self, job: Job, at: float) -> None: ...
    def on_finish(self, job: Job, at: float) -> None: ...
    def on_fail(self, job: Job, at: float, produced: int) -> None: ...


class BatchTiming:
    """Step times of one replica type, with the affine decode decomposition cached."""

    def __init__(self, timer: StepTimer, max_batch: int) -> None:
        self.timer = timer
        self.max_batch = max(1, min(max_batch, timer.max_batch))
        self.kv_capacity = timer.kv_capacity_tokens
        base = [0.0] + [timer.decode_step_seconds(b, 0) for b in range(1, self.max_batch + 1)]
        self.base = base
        probe = timer.decode_step_seconds(1, SLOPE_PROBE_TOKENS)
        self.slope = max(probe - base[1], 0.0) / SLOPE_PROBE_TOKENS
        self._prefill_of: Callable[[int], float] = timer.prefill_seconds
        self.prefill_seen: dict[int, float] = {}
        """Prefill seconds by prompt length, as `prefill` answered them."""

    def prefill(self, tokens: int) -> float:
        """Prefill seconds of a `tokens`-token prompt (the timer is pure: answers are kept)."""
        seconds = self.prefill_seen.get(tokens)
        if seconds is None:
            seconds = self._prefill_of(tokens)
            if len(self.prefill_seen) < PREFILL_MEMO_LIMIT:
                self.prefill_seen[tokens] = seconds
        return seconds


class Counters:
    """Totals a group of replicas keeps for its engine-metrics scrape."""

    __slots__ = ("kv_reserved", "running", "waiting")

    def __init__(self) -> None:
        self.waiting = 0
        self.running = 0
        self.kv_reserved = 0


class Replica:
    """One engine: waiting queue, prefill batch, running batch, and its single wake-up event.

    `load` counts the requests on it (waiting, prefilling and running) for the group's load
    balancer; it is kept up to date rather than recounted, as it is read on every dispatch.
    """

    __slots__ = (
        "_seq",
        "busy_seconds",
        "busy_since",
        "counters",
        "kv_live",
        "kv_reserved",
        "limits",
        "load",
        "loop",
        "phase",
        "prefilling",
        "running",
        "segment_start",
        "sink",
        "slow",
        "steps",
        "timing",
        "tokens_out",
        "up",
        "version",
        "waiting",
        "wake_at",
        "wake_seconds",
        "wake_steps",
    )

    def __init__(
        self,
        timing: BatchTiming,
        loop: EventLoop,
        sink: JobSink,
        counters: Counters,
        max_prefill_tokens: int,
    ) -> None:
        self.timing = timing
        self.loop = loop
        self.sink = sink
        self.counters = counters
        self.limits = BatchLimits(timing.max_batch, timing.kv_capacity, max_prefill_tokens)
        self.waiting: deque[Job] = deque()
        self.prefilling: list[Job] = []
        self.running: list[tuple[int, int, Job]] = []
        self._seq = itertools.count()
        self.load = 0
        self.phase = IDLE
        self.steps = 0
        self.segment_start = 0.0
        self.kv_live = 0.0
        self.kv_reserved = 0
        self.slow = 1.0
        self.version = 0
        self.wake_at = math.inf
        self.wake_steps = 0  # decode steps up to the pending wake (0: not known in advance)
        self.wake_seconds = 0.0  # and their duration (the batch does not change before it)
        self.up = True
        self.busy_since = 0.0
        self.busy_seconds = 0.0
        self.tokens_out = 0

    # ------------------------------------------------------------------ decode arithmetic

    def _decode_time(self, k: int) -> float:
        b = len(self.running)
        timing = self.timing
        kv0 = self.kv_live
        return self.slow * (k * timing.base[b] + timing.slope * (k * kv0 + b * k * (k - 1) / 2))

    def _steps_within(self, elapsed: float) -> int:
        running = self.running
        b = len(running)
        if b == 0 or elapsed <= 0:
            return 0
        timing = self.timing
        slow, slope, kv0 = self.slow, timing.slope, self.kv_live
        qa = slow * slope * b / 2.0
        qb = slow * (timing.base[b] + slope * kv0) - qa
        # the stable root of qa k^2 + qb k = elapsed (no cancellation when qa is tiny)
        k = 2.0 * elapsed / (qb + math.sqrt(qb * qb + 4.0 * qa * elapsed))
        steps = int(k)
        k1 = steps + 1  # _decode_time(steps + 1), inline: this runs on every decode event
        if slow * (k1 * timing.base[b] + slope * (k1 * kv0 + b * k1 * steps / 2)) <= (
            elapsed + TIME_EPSILON_S
        ):
            steps = k1
        return min(steps, running[0][0] - self.steps)

    def _advance(self, now: float) -> None:
        """Account for the whole decode steps done since the segment started."""
        k = self._steps_within(now - self.segment_start)
        if k > 0:
            self.segment_start += self._decode_time(k)
            self.kv_live += len(self.running) * k
            self.steps += k

    # ------------------------------------------------------------------ events

    def _set_wake(self, at: float, steps: int = 0, seconds: float = 0.0) -> None:
        version = self.version = self.version + 1
        self.wake_at = at
        self.wake_steps = steps
        self.wake_seconds = seconds
        self.loop.schedule(at, PRIORITY_COMPLETION, self.wake, version)

    def _wake_for_next_finish(self) -> None:
        running = self.running
        k = running[0][0] - self.steps
        b = len(running)
        timing = self.timing  # `_decode_time(k)`, inline: once per request
        seconds = self.slow * (
            k * timing.base[b] + timing.slope * (k * self.kv_live + b * k * (k - 1) / 2)
        )
        self._set_wake(self.segment_start + seconds, k, seconds)

    def enqueue(self, job: Job, now: float) -> None:
        """A request arrives at this engine."""
        self.waiting.append(job)
        self.load += 1
        self.counters.waiting += 1
        phase = self.phase
        if phase == IDLE:
            self.busy_since = now
            self._plan(now)
        elif phase == DECODE and fits(
            self.waiting[0], self.limits, running=len(self.running), kv_reserved=self.kv_reserved
        ):
            k = self._steps_within(now - self.segment_start)
            at = self.segment_start + self._decode_time(k + 1)
            if at < self.wake_at:
                self._set_wake(at)

    def wake(self, version: int) -> None:
        """The replica's own event: a prefill ended, a sequence finished, or a join is due."""
        if version != self.version:
            return
        now = self.loop.now
        self.wake_at = math.inf
        phase = self.phase
        if phase == PREFILL:
            self._finish_prefill(now)
        elif phase == DECODE:
            k = self.wake_steps
            if k > 0:  # the wake planned for the next finish: exactly k steps were done
                self.segment_start += self.wake_seconds  # their time, as planned
                self.kv_live += len(self.running) * k
                self.steps += k
            else:
                self._advance(now)
            self._complete_finished(now)
        self._plan(now)

    def _plan(self, now: float) -> None:
        # `batching.next_step`, inline (this runs on every wake): prefill what the head admits,
        # else decode the running batch, else idle
        waiting = self.waiting
        count = (
            admit(waiting, self.limits, running=len(self.running), kv_reserved=self.kv_reserved)
            if waiting and self.up
            else 0
        )
        if count:
            self._start_prefill(now, count)
        elif self.running:
            self.phase = DECODE
            self._wake_for_next_finish()
        else:
            if self.phase != IDLE:
                self.busy_seconds += now - self.busy_since
            self.phase = IDLE

    def _start_prefill(self, now: float, count: int) -> None:
        """Take the `count` jobs at the head of the queue into one prefill step."""
        timing = self.timing
        known = timing.prefill_seen
        popleft = self.waiting.popleft
        taken = [popleft() for _ in range(count)]
        seconds = 0.0
        reserved = self.kv_reserved
        for job in taken:
            reserved += job.kv_need
            tokens = job.prefill_tokens
            seconds += known.get(tokens) or timing.prefill(tokens)  # `prefill`, memo inline
        counters = self.counters
        counters.waiting -= len(taken)
        counters.running += len(taken)
        counters.kv_reserved += reserved - self.kv_reserved
        self.kv_reserved = reserved
        self.prefilling = taken
        self.phase = PREFILL
        self._set_wake(now + seconds * self.slow)

    def _finish_prefill(self, now: float) -> None:
        sink = self.sink
        running = self.running
        for job in self.prefilling:
            sink.on_first_token(job, now)
            if job.output_tokens <= 1:
                self._release(job)
                self.tokens_out += job.output_tokens
                sink.on_finish(job, now)
                continue
            job.finish_step = self.steps + job.output_tokens - 1
            heapq.heappush(running, (job.finish_step, next(self._seq), job))
            self.kv_live += job.context_tokens + 1
        self.prefilling = []
        self.segment_start = now

    def _release(self, job: Job) -> None:
        need = job.kv_need
        self.kv_reserved -= need
        self.load -= 1
        counters = self.counters
        counters.kv_reserved -= need
        counters.running -= 1

    def _complete_finished(self, now: float) -> None:
        running = self.running
        sink = self.sink
        steps = self.steps
        pop = heapq.heappop
        counters = self.counters
        while running and running[0][0] <= steps:
            job = pop(running)[2]
            need = job.kv_need  # `_release`, inline
            self.kv_live -= need
            self.kv_reserved -= need
            self.load -= 1
            counters.kv_reserved -= need
            counters.running -= 1
            self.tokens_out += job.output_tokens
            sink.on_finish(job, now)
        if not running:
            self.kv_live = 0.0

    # ------------------------------------------------------------------ faults

    def set_slow(self, factor: float, now: float) -> None:
        """Change the slowdown; the decode segment in flight is re-timed from now."""
        if factor == self.slow:
            return
        if self.phase == DECODE:
            self._advance(now)
            self.slow = factor
            self._wake_for_next_finish()
        else:
            self.slow = factor

    def fail_all(self, now: float) -> None:
        """The engine crashed: every request on it fails; it restarts empty."""
        if self.phase == DECODE:
            self._advance(now)
        failed: list[tuple[Job, int]] = [(job, 0) for job in self.waiting]
        failed += [(job, 0) for job in self.prefilling]
        for finish, _, job in self.running:
            produced = job.output_tokens - (finish - self.steps)
            failed.append((job, max(produced, 1)))
            self.tokens_out += max(produced, 1)
        counters = self.counters
        counters.waiting -= len(self.waiting)
        counters.running -= len(self.prefilling) + len(self.running)
        counters.kv_reserved -= self.kv_reserved
        if self.phase != IDLE:
            self.busy_seconds += now - self.busy_since
        self.waiting.clear()
        self.prefilling = []
        self.running = []
        self.kv_reserved = 0
        self.kv_live = 0.0
        self.load = 0
        self.phase = IDLE
        self.version += 1
        self.wake_at = math.inf
        for job, produced in failed:
            self.sink.on_fail(job, now, produced)

    def busy_until(self, now: float) -> float:
        """Seconds spent busy up to `now`."""
        return self.busy_seconds + (now - self.busy_since if self.phase != IDLE else 0.0)
