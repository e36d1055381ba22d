"""The seams between the pure core and its shells, named in one place.

Core code (limits, routing policies, performance model) receives time as `now` (Unix epoch
seconds, float) and randomness as a `random.Random`; the shells supply them: the gateway from the
wall clock (or Redis server time), the simulator from its virtual clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Where shells get `now` from."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class WallClock:
    """The real clock, for the gateway."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to, for tests (the simulator has its own virtual time)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self._now += seconds

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError("a clock never goes back")
        self._now = when


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one request used, as an upstream reports them (Anthropic's split)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        """Every input token, cached or not."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


class StepTimer(Protocol):
    """Timing of one inference replica under continuous batching.

    The simulated engine and the simulator both ask this; the performance model provides the
    real implementation from a GPU and a model shape, tests and `--instant` provide simple ones.
    """

    @property
    def max_batch(self) -> int:
        """The most sequences decoded together in one step."""
        ...

    @property
    def kv_capacity_tokens(self) -> int:
        """KV-cache capacity in tokens: the sum of context lengths admitted at once."""
        ...

    def prefill_seconds(self, prompt_tokens: int) -> float:
        """Time to process a prompt of `prompt_tokens` tokens before its first output token."""
        ...

    def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
        """Time of one decode step producing one token for each of `batch_size` sequences that
        together hold `kv_tokens` tokens of context."""
        ...
