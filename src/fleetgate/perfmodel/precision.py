"""Numeric precisions of weights, KV cache and matrix math, and their bytes per element."""

from __future__ import annotations

from typing import Literal, cast

from fleetgate.errors import ConfigurationError

Precision = Literal["bf16", "fp8", "fp4"]
"""Storage / math precision. `bf16` also stands for fp16 (same size and tensor-core rate)."""

PRECISIONS: tuple[Precision, ...] = ("bf16", "fp8", "fp4")
"""From widest to narrowest."""

_BYTES: dict[str, float] = {
    "bf16": 2.0,
    "fp8": 1.0,
    # NVFP4: 4-bit values plus one FP8 scale per 16-element block -> 4.5 bits per element.
    "fp4": 0.5625,
}

_SYNONYMS: dict[str, str] = {"fp16": "bf16", "bfloat16": "bf16", "float16": "bf16", "nvfp4": "fp4"}


def bytes_per_element(precision: Precision) -> float:
    """Bytes one stored element takes at `precision` (fp4 includes its block scales)."""
    return _BYTES[precision]


def parse_precision(value: object, *, path: str) -> Precision:
    """`value` as a Precision, or ConfigurationError naming `path`."""
    if isinstance(value, str):
        name = _SYNONYMS.get(value.strip().lower(), value.strip().lower())
        if name in _BYTES:
            return cast(Precision, name)
    raise ConfigurationError(f"{path}: expected one of {', '.join(PRECISIONS)}, got {value!r}")
