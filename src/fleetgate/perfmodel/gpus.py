"""GPU specifications: memory, bandwidth, dense tensor throughput per precision, power."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetgate.perfmodel import fields
from fleetgate.perfmodel.precision import PRECISIONS, Precision


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One accelerator, per GPU. Throughputs are dense (no 2:4 sparsity); units are SI-decimal.

    `it_power_w` is the whole server's IT power divided by its GPUs (CPU, NIC, switch share
    included); `power_w` is the GPU's own TDP.
    """

    name: str
    memory_gb: float
    bandwidth_tb_s: float
    bf16_tflops: float
    fp8_tflops: float | None
    fp4_tflops: float | None
    power_w: float
    it_power_w: float
    scale_up_gb_s: float
    scale_up_domain: int
    source: str
    aliases: tuple[str, ...] = ()

    @property
    def memory_bytes(self) -> float:
        """HBM capacity in bytes."""
        return self.memory_gb * 1e9

    @property
    def bandwidth_bytes_s(self) -> float:
        """HBM bandwidth in bytes per second."""
        return self.bandwidth_tb_s * 1e12

    def peak_flops(self, precision: Precision) -> float:
        """Dense FLOP/s for matrix math at `precision`.

        A GPU without native support for a narrow format (FP4 on Hopper, FP8 on Ampere) runs
        that math at the next wider precision it has, so the rate falls back accordingly.
        """
        rates = {"bf16": self.bf16_tflops, "fp8": self.fp8_tflops, "fp4": self.fp4_tflops}
        start = PRECISIONS.index(precision)
        for candidate in reversed(PRECISIONS[: start + 1]):
            rate = rates[candidate]
            if rate is not None:
                return rate * 1e12
        return self.bf16_tflops * 1e12

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any], path: str) -> GpuSpec:
        """Build from one catalog entry (a YAML mapping), refusing bad fields by key path."""
        return cls(
            name=name,
            memory_gb=fields.positive_number(entry, "memory_gb", path),
            bandwidth_tb_s=fields.positive_number(entry, "bandwidth_tb_s", path),
            bf16_tflops=fields.positive_number(entry, "bf16_tflops", path),
            fp8_tflops=fields.optional_positive_number(entry, "fp8_tflops", path),
            fp4_tflops=fields.optional_positive_number(entry, "fp4_tflops", path),
            power_w=fields.positive_number(entry, "power_w", path),
            it_power_w=fields.positive_number(entry, "it_power_w", path),
            scale_up_gb_s=fields.positive_number(entry, "scale_up_gb_s", path),
            scale_up_domain=fields.count(entry, "scale_up_domain", path),
            source=fields.text(entry, "source", path),
            aliases=fields.names(entry, "aliases", path),
        )
