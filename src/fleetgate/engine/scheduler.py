"""Continuous batching for the simulated engine: a FIFO queue, a running batch, one step loop.

What each step does is `fleetgate.batching`'s rule, the one the simulator's replica follows on
virtual time: a step that admits waiting sequences (FIFO, while the batch has room, their KV
reservation fits and the step's prompt tokens stay within `max_prefill_tokens`) is their
prefill: it lasts `prefill_seconds` of the admitted prompts and yields each one's first token,
while the running batch waits. Any other step decodes one token for every running sequence and
lasts `decode_step_seconds(batch, kv_tokens)` of the `StepTimer`; this module sleeps it on the
real clock. Finished or cancelled sequences free their KV at once. `InstantTokens` is the
zero-time stand-in used by `--instant`: it skips the scheduler and hands out every token at once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from fleetgate.batching import DEFAULT_MAX_PREFILL_TOKENS, BatchLimits, next_step
from fleetgate.errors import InternalError
from fleetgate.seams import StepTimer

SequenceState = Literal["waiting", "running", "finished", "cancelled", "failed"]
Sleep = Callable[[float], Awaitable[None]]


class TokenSource(Protocol):
    """Where the HTTP layer gets tokens from, with the load figures `/metrics` reports."""

    @property
    def running(self) -> int:
        """Sequences being decoded now."""
        ...

    @property
    def waiting(self) -> int:
        """Sequences queued for admission."""
        ...

    @property
    def kv_usage(self) -> float:
        """Fraction of the KV capacity reserved by running sequences (0..1)."""
        ...

    def stream(self, prompt_tokens: int, output_tokens: int) -> AsyncGenerator[int, None]:
        """Yield the cumulative number of tokens produced, ending at `output_tokens`; closing
        the iterator early cancels the sequence."""
        ...

    async def aclose(self) -> None:
        """Stop work and release every waiting consumer."""
        ...


@dataclass(eq=False, slots=True)
class Sequence:
    """One request inside the scheduler."""

    prompt_tokens: int
    output_tokens: int
    produced: int = 0
    state: SequenceState = "waiting"
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def prefill_tokens(self) -> int:
        """Tokens its prefill computes: the whole prompt (the engine caches no prefix)."""
        return self.prompt_tokens

    @property
    def kv_need(self) -> int:
        """KV tokens held while running: the prompt plus every output token it will produce."""
        return self.prompt_tokens + self.output_tokens

    @property
    def kv_context(self) -> int:
        """Context tokens the sequence holds now."""
        return self.prompt_tokens + self.produced


class BatchScheduler:
    """The continuous-batching scheduler of one engine replica."""

    def __init__(
        self,
        timer: StepTimer,
        *,
        sleep: Sleep = asyncio.sleep,
        max_prefill_tokens: int = DEFAULT_MAX_PREFILL_TOKENS,
    ) -> None:
        self._timer = timer
        self._limits = BatchLimits(timer.max_batch, timer.kv_capacity_tokens, max_prefill_tokens)
        self._sleep = sleep
        self._waiting: dict[Sequence, None] = {}
        self._running: dict[Sequence, None] = {}
        self._kv_reserved = 0
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def kv_usage(self) -> float:
        return min(1.0, self._kv_reserved / self._timer.kv_capacity_tokens)

    def fits_ever(self, prompt_tokens: int, output_tokens: int) -> bool:
        """Whether a sequence of this size fits the KV capacity even with nothing else running."""
        return prompt_tokens + output_tokens <= self._timer.kv_capacity_tokens

    def submit(self, prompt_tokens: int, output_tokens: int) -> Sequence:
        """Queue a sequence; it is admitted by the step loop."""
        if output_tokens < 1 or prompt_tokens < 0:
            raise ValueError("a sequence needs a non-negative prompt and at least one output token")
        if not self.fits_ever(prompt_tokens, output_tokens):
            raise ValueError("the sequence can never fit the KV capacity")
        if self._closed:
            raise InternalError("the engine is shutting down")
        sequence = Sequence(prompt_tokens, output_tokens)
        self._waiting[sequence] = None
        self._ensure_loop()
        self._wake.set()
        return sequence

    def cancel(self, sequence: Sequence) -> None:
        """Take a sequence out of the queue or the batch at once, freeing its KV."""
        if sequence.state == "waiting":
            self._waiting.pop(sequence, None)
        elif sequence.state == "running":
            self._release(sequence)
        else:
            return
        sequence.state = "cancelled"
        sequence.changed.set()

    async def stream(self, prompt_tokens: int, output_tokens: int) -> AsyncGenerator[int, None]:
        sequence = self.submit(prompt_tokens, output_tokens)
        try:
            while True:
                await sequence.changed.wait()
                sequence.changed.clear()
                if sequence.state in ("cancelled", "failed"):
                    raise InternalError("the engine stopped before the sequence finished")
                yield sequence.produced
                if sequence.state == "finished":
                    return
        finally:
            self.cancel(sequence)

    async def aclose(self) -> None:
        self._closed = True
        for sequence in [*self._waiting, *self._running]:
            self.cancel(sequence)
        task, self._loop_task = self._loop_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _ensure_loop(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(self._step_loop())

    async def _step_loop(self) -> None:
        try:
            while True:
                if not self._waiting and not self._running:
                    self._wake.clear()
                    await self._wake.wait()
                await self.step()
        except asyncio.CancelledError:
            raise
        except Exception:
            self._fail_everything()
            raise

    async def step(self) -> float:
        """Run one scheduler step and return how long it lasted (simulated seconds): the prefill
        of the sequences it admits (each gets its first token), else one decode step."""
        kind, count = next_step(
            self._waiting, self._limits, running=len(self._running), kv_reserved=self._kv_reserved
        )
        producing = self._admit(count)
        if kind == "prefill":
            duration = sum(self._timer.prefill_seconds(seq.prompt_tokens) for seq in producing)
        else:
            producing = list(self._running)
            kv_context = sum(seq.kv_context for seq in producing)
            duration = (
                self._timer.decode_step_seconds(len(producing), kv_context) if producing else 0.0
            )
        if duration > 0:
            await self._sleep(duration)
        else:
            await asyncio.sleep(0)
        self._produce_one_token_each(producing)
        return duration

    def _admit(self, count: int) -> list[Sequence]:
        """Move the `count` sequences at the head of the queue into the batch."""
        admitted = list(itertools.islice(self._waiting, count))
        for head in admitted:
            del self._waiting[head]
            head.state = "running"
            self._running[head] = None
            self._kv_reserved += head.kv_need
        return admitted

    def _produce_one_token_each(self, sequences: list[Sequence]) -> None:
        for sequence in sequences:
            if sequence.state != "running":  # cancelled (or failed) during the step
                continue
            sequence.produced += 1
            if sequence.produced >= sequence.output_tokens:
                self._release(sequence)
                sequence.state = "finished"
            sequence.changed.set()

    def _release(self, sequence: Sequence) -> None:
        if sequence in self._running:
            del self._running[sequence]
            self._kv_reserved -= sequence.kv_need

    def _fail_everything(self) -> None:
        for sequence in [*self._waiting, *self._running]:
            self._waiting.pop(sequence, None)
            self._release(sequence)
            sequence.state = "failed"
            sequence.changed.set()


class InstantTokens:
    """Zero-time token source for `--instant`: no queue, no batch, every token at once."""

    def __init__(self) -> None:
        self._in_flight = 0

    @property
    def running(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return 0

    @property
    def kv_usage(self) -> float:
        return 0.0

    async def stream(self, prompt_tokens: int, output_tokens: int) -> AsyncGenerator[int, None]:
        self._in_flight += 1
        try:
            yield output_tokens
        finally:
            self._in_flight -= 1

    async def aclose(self) -> None:
        return None
