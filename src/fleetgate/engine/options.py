"""The simulated engine's options: what it serves, how fast it is, and which faults it injects.

Owns `EngineOptions` (everything `fleetgate engine` accepts) and `InjectedFaults` (the fault knobs,
also changeable at runtime through `POST /fault`). Invalid values raise `ConfigurationError`
naming the command-line option.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from fleetgate.batching import DEFAULT_MAX_PREFILL_TOKENS
from fleetgate.errors import ConfigurationError

DEFAULT_MODEL = "fleetgate-sim"


@dataclass(frozen=True, slots=True)
class InjectedFaults:
    """Faults the engine injects; all off by default."""

    error_rate: float = 0.0
    """Fraction of chat requests answered with a 500."""
    extra_latency_ms: float = 0.0
    """Added before the first token of every chat request."""
    hang: bool = False
    """Accept chat requests and never answer them (until the fault is cleared)."""
    close_after_tokens: int | None = None
    """Streams drop the connection abruptly after this many tokens."""
    unhealthy: bool = False
    """`GET /health` answers 503."""

    def __post_init__(self) -> None:
        _check_fraction("--error-rate", self.error_rate)
        _check_non_negative("--extra-latency-ms", self.extra_latency_ms)
        if self.close_after_tokens is not None:
            _check_non_negative("--close-after-tokens", self.close_after_tokens, integer=True)

    def as_json(self) -> dict[str, object]:
        """The settings as the JSON object `GET /fault` returns."""
        return {
            "error_rate": self.error_rate,
            "extra_latency_ms": self.extra_latency_ms,
            "hang": self.hang,
            "close_after_tokens": self.close_after_tokens,
            "unhealthy": self.unhealthy,
        }


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Everything one simulated engine needs to start."""

    host: str = "127.0.0.1"
    port: int = 8000
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    max_model_len: int = 131_072
    output_tokens: int = 64
    """Tokens produced per request unless `max_tokens` is smaller or `ignore_eos` is set."""
    instant: bool = False
    max_batch: int = 64
    kv_capacity_tokens: int = 200_000
    max_prefill_tokens: int = DEFAULT_MAX_PREFILL_TOKENS
    """Prompt tokens one prefill step may take (`fleetgate.batching`)."""
    prefill_tokens_per_s: float = 20_000.0
    decode_step_ms: float = 15.0
    decode_step_ms_per_seq: float = 0.2
    decode_step_ms_per_1k_kv: float = 0.05
    faults: InjectedFaults = field(default_factory=InjectedFaults)
    seed: int = 0
    """Seed of the `random.Random` that draws faults."""

    def __post_init__(self) -> None:
        if not self.models or any(not name.strip() for name in self.models):
            raise ConfigurationError("--model: expected at least one non-empty model name")
        if not 0 <= self.port <= 65_535:
            raise ConfigurationError(f"--port: expected a port 0..65535, got {self.port}")
        for option, value in (
            ("--max-model-len", self.max_model_len),
            ("--output-tokens", self.output_tokens),
            ("--max-batch", self.max_batch),
            ("--kv-capacity-tokens", self.kv_capacity_tokens),
            ("--max-prefill-tokens", self.max_prefill_tokens),
        ):
            _check_positive(option, value, integer=True)
        _check_positive("--prefill-tokens-per-s", self.prefill_tokens_per_s)
        for option, number in (
            ("--decode-step-ms", self.decode_step_ms),
            ("--decode-step-ms-per-seq", self.decode_step_ms_per_seq),
            ("--decode-step-ms-per-1k-kv", self.decode_step_ms_per_1k_kv),
        ):
            _check_non_negative(option, number)

    @property
    def metrics_model_name(self) -> str:
        """The `model_name` label of every metric: the first served name, as vLLM does."""
        return self.models[0]


def parse_model_names(values: Iterable[str]) -> tuple[str, ...]:
    """Model names from repeated and/or comma-separated `--model` values, duplicates dropped."""
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            stripped = name.strip()
            if stripped and stripped not in names:
                names.append(stripped)
    if not names:
        raise ConfigurationError("--model: expected at least one non-empty model name")
    return tuple(names)


def _check_positive(option: str, value: float, *, integer: bool = False) -> None:
    if not _is_number(value, integer=integer) or value <= 0:
        what = "a positive integer" if integer else "a positive number"
        raise ConfigurationError(f"{option}: expected {what}, got {value!r}")


def _check_non_negative(option: str, value: float, *, integer: bool = False) -> None:
    if not _is_number(value, integer=integer) or value < 0:
        what = "a non-negative integer" if integer else "a non-negative number"
        raise ConfigurationError(f"{option}: expected {what}, got {value!r}")


def _check_fraction(option: str, value: float) -> None:
    if not _is_number(value, integer=False) or not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{option}: expected a number from 0 to 1, got {value!r}")


def _is_number(value: object, *, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    if integer:
        return isinstance(value, int)
    return isinstance(value, int | float) and math.isfinite(value)
