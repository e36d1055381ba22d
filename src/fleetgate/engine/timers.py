"""Step timers of the simulated engine: a linear cost model and a zero-time one.

Both implement `fleetgate.seams.StepTimer`; the performance model's roofline timer plugs into the
same seam. `timer_from_options(options)` picks the one the command line asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetgate.engine.options import EngineOptions
from fleetgate.seams import StepTimer


@dataclass(frozen=True, slots=True)
class LinearStepTimer:
    """Prefill at a fixed token rate; a decode step costs a base plus per-sequence and per-KV terms.

    decode_step = base + per_seq * batch + per_1k_kv * kv_tokens / 1000   (milliseconds)
    """

    max_batch: int = 64
    kv_capacity_tokens: int = 200_000
    prefill_tokens_per_s: float = 20_000.0
    decode_step_ms: float = 15.0
    decode_step_ms_per_seq: float = 0.2
    decode_step_ms_per_1k_kv: float = 0.05

    def __post_init__(self) -> None:
        if self.max_batch <= 0 or self.kv_capacity_tokens <= 0:
            raise ValueError("max_batch and kv_capacity_tokens must be positive")
        if self.prefill_tokens_per_s <= 0:
            raise ValueError("prefill_tokens_per_s must be positive")
        if min(self.decode_step_ms, self.decode_step_ms_per_seq, self.decode_step_ms_per_1k_kv) < 0:
            raise ValueError("decode step costs must not be negative")

    @classmethod
    def from_options(cls, options: EngineOptions) -> LinearStepTimer:
        """The timer described by the engine's command-line options."""
        return cls(
            max_batch=options.max_batch,
            kv_capacity_tokens=options.kv_capacity_tokens,
            prefill_tokens_per_s=options.prefill_tokens_per_s,
            decode_step_ms=options.decode_step_ms,
            decode_step_ms_per_seq=options.decode_step_ms_per_seq,
            decode_step_ms_per_1k_kv=options.decode_step_ms_per_1k_kv,
        )

    def prefill_seconds(self, prompt_tokens: int) -> float:
        """Prompt tokens divided by the prefill rate."""
        return max(prompt_tokens, 0) / self.prefill_tokens_per_s

    def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
        """Base cost plus the per-sequence and per-thousand-KV-token terms, in seconds."""
        millis = (
            self.decode_step_ms
            + self.decode_step_ms_per_seq * max(batch_size, 0)
            + self.decode_step_ms_per_1k_kv * max(kv_tokens, 0) / 1000.0
        )
        return millis / 1000.0


@dataclass(frozen=True, slots=True)
class InstantStepTimer:
    """Every step takes no time: the engine answers as fast as it can (`--instant`)."""

    max_batch: int = 1_000_000
    kv_capacity_tokens: int = 1_000_000_000

    def prefill_seconds(self, prompt_tokens: int) -> float:
        """Always zero."""
        return 0.0

    def decode_step_seconds(self, batch_size: int, kv_tokens: int) -> float:
        """Always zero."""
        return 0.0


def timer_from_options(options: EngineOptions) -> StepTimer:
    """`InstantStepTimer` under `--instant`, else the linear timer built from the options."""
    if options.instant:
        return InstantStepTimer(kv_capacity_tokens=options.kv_capacity_tokens)
    return LinearStepTimer.from_options(options)
