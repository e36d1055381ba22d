"""What the simulator measures: latency histograms, outcome counters, goodput and nines.

Owns `LogHistogram` (fixed log-spaced bins, 1% relative resolution, constant memory whatever
the request count, and deterministic percentiles), `Outcomes` (the counters of one group:
a plan, a tier or a site) and `availability_nines`. Latencies are seconds; percentiles are
reported in milliseconds by the report module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

BINS_PER_E = 100.0
"""Bins per factor e: neighbouring bins differ by 1%."""
FLOOR_S = 1e-5
LOG_FLOOR = math.log(FLOOR_S)
log = math.log


class LogHistogram:
    """Counts of positive values in 1%-wide log bins; percentiles to within 1%.

    `bins[i]` counts the values of bin i (a list grown on demand: indexing it is the cheapest
    count there is, and a run adds several values per request). Bin 2,300 holds 1e5 s, so the
    list stays short."""

    __slots__ = ("bins", "maximum", "total")

    def __init__(self) -> None:
        self.bins: list[int] = []
        self.total = 0.0
        self.maximum = 0.0

    def add(self, value: float) -> None:
        """Record one value (values below 10 microseconds share the lowest bin)."""
        index = int((log(value) - LOG_FLOOR) * BINS_PER_E) if value > FLOOR_S else 0
        try:
            self.bins[index] += 1
        except IndexError:
            self._grow(index + 1)
            self.bins[index] = 1
        self.total += value
        self.maximum = value if value > self.maximum else self.maximum  # `max`, without a call

    def _grow(self, size: int) -> None:
        bins = self.bins
        if len(bins) < size:
            bins.extend([0] * (size - len(bins)))

    @property
    def count(self) -> int:
        """Values recorded."""
        return sum(self.bins)

    def merge(self, other: LogHistogram) -> None:
        """Add every value of `other`."""
        self._grow(len(other.bins))
        bins = self.bins
        for index, count in enumerate(other.bins):
            bins[index] += count
        self.total += other.total
        self.maximum = max(self.maximum, other.maximum)

    @property
    def mean(self) -> float:
        """The exact mean (0 when empty)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, share: float) -> float:
        """The value below which `share` (0..1) of the values lie (bin midpoint; 0 if empty)."""
        count = self.count
        if not count:
            return 0.0
        rank = max(1, math.ceil(share * count))
        seen = 0
        for index, in_bin in enumerate(self.bins):
            seen += in_bin
            if seen >= rank:
                value = math.exp(LOG_FLOOR + (index + 0.5) / BINS_PER_E)
                return min(value, self.maximum)
        return self.maximum

    def summary(self, scale: float = 1000.0) -> dict[str, float]:
        """count, mean, p50, p90, p95, p99, p99.9 and max, times `scale` (ms by default)."""
        return {
            "count": self.count,
            "mean": round(self.mean * scale, 3),
            "p50": round(self.percentile(0.50) * scale, 3),
            "p90": round(self.percentile(0.90) * scale, 3),
            "p95": round(self.percentile(0.95) * scale, 3),
            "p99": round(self.percentile(0.99) * scale, 3),
            "p999": round(self.percentile(0.999) * scale, 3),
            "max": round(self.maximum * scale, 3),
        }


@dataclass(slots=True)
class Outcomes:
    """Everything counted for one group of requests (a plan, a tier, or a site)."""

    ttft: LogHistogram = field(default_factory=LogHistogram)
    tpot: LogHistogram = field(default_factory=LogHistogram)
    e2e: LogHistogram = field(default_factory=LogHistogram)
    requests: int = 0
    completed: int = 0
    failed: int = 0
    overloaded: int = 0
    unplaceable: int = 0
    refused: int = 0
    refused_by_limit: dict[str, int] = field(default_factory=dict)
    invalid: int = 0
    retried: int = 0
    within_slo: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    slo_output_tokens: int = 0

    def merge(self, other: Outcomes, histograms: bool = True) -> None:
        """Add every count of `other`, and its latencies unless `histograms` is false."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for limit, count in other.refused_by_limit.items():
            self.refused_by_limit[limit] = self.refused_by_limit.get(limit, 0) + count
        if histograms:
            self.ttft.merge(other.ttft)
            self.tpot.merge(other.tpot)
            self.e2e.merge(other.e2e)

    def refuse(self, limit: str) -> None:
        """A 429 from `limit` (counted once per client request, after its retries)."""
        self.refused += 1
        self.refused_by_limit[limit] = self.refused_by_limit.get(limit, 0) + 1

    @property
    def availability(self) -> float:
        """Share of requests the service answered properly: rate-limit refusals, invalid
        requests and placement refusals (no pool the tenant may use serves the model at all)
        do not count; errors, overload answers and "no healthy pool" answers do."""
        judged = self.completed + self.failed + self.overloaded
        return self.completed / judged if judged else 1.0

    def as_dict(self, seconds: float) -> dict[str, object]:
        """JSON-ready counters and latency summaries over `seconds` of measured time."""
        rate = 1.0 / seconds if seconds > 0 else 0.0
        return {
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "overloaded": self.overloaded,
            "unplaceable": self.unplaceable,
            "refused": self.refused,
            "refused_by_limit": dict(sorted(self.refused_by_limit.items())),
            "invalid": self.invalid,
            "retried_attempts": self.retried,
            "ttft_ms": self.ttft.summary(),
            "tpot_ms": self.tpot.summary(),
            "e2e_ms": self.e2e.summary(),
            "goodput_rps": round(self.within_slo * rate, 4),
            "goodput_share": round(self.within_slo / self.completed, 6) if self.completed else 0.0,
            "goodput_output_tokens_per_s": round(self.slo_output_tokens * rate, 2),
            "throughput_output_tokens_per_s": round(self.output_tokens * rate, 2),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "availability": round(self.availability, 9),
            "nines": round(availability_nines(self.availability), 3),
        }


COUNTERS = (
    "requests",
    "completed",
    "failed",
    "overloaded",
    "unplaceable",
    "refused",
    "invalid",
    "retried",
    "within_slo",
    "input_tokens",
    "output_tokens",
    "slo_output_tokens",
)
"""The plain counters of `Outcomes`."""


def availability_nines(availability: float) -> float:
    """-log10(1 - A): 0.99 is 2 nines, 0.99999 is 5 (capped at 9 for a perfect run)."""
    if availability >= 1.0:
        return 9.0
    if availability <= 0.0:
        return 0.0
    return min(9.0, -math.log10(1.0 - availability))
