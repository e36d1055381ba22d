"""Hedging statistics: recent non-streaming answer times per model (the hedging percentile)
and the hedge budget (`routing.hedging.max_share` of eligible requests over a rolling minute).
Kept apart from `fleetgate.gateway.failover` so the gateway process can own one without import
cycles. Times are `time.monotonic()` seconds passed in by the caller.
"""

from __future__ import annotations

import math
from collections import deque

from fleetgate.routing.availability import RollingRatio
from fleetgate.routing.config import HedgingSettings

SAMPLES = 256
"""Recent answer times kept per model for the hedging percentile."""
MIN_SAMPLES = 20
"""No hedging for a model until this many answers were timed."""
SHARE_WINDOW_S = 60.0


class HedgeStats:
    """Answer-time percentiles per model and the hedge budget."""

    def __init__(self, settings: HedgingSettings) -> None:
        self.settings = settings
        self._samples: dict[str, deque[float]] = {}
        self._cached: dict[str, tuple[int, float]] = {}
        self._eligible = RollingRatio(SHARE_WINDOW_S, 12)
        self._hedged = RollingRatio(SHARE_WINDOW_S, 12)
        self._observed = 0

    def observe(self, model_id: str, seconds: float) -> None:
        """A non-streaming answer of `model_id` took `seconds` from send to last byte."""
        if not self.settings.enabled or not math.isfinite(seconds) or seconds < 0:
            return
        self._samples.setdefault(model_id, deque(maxlen=SAMPLES)).append(seconds)
        self._observed += 1

    def delay_s(self, model_id: str) -> float | None:
        """How long to wait before hedging a request for `model_id`; None: do not hedge."""
        if not self.settings.enabled:
            return None
        samples = self._samples.get(model_id)
        if samples is None or len(samples) < MIN_SAMPLES:
            return None
        cached = self._cached.get(model_id)
        if cached is not None and cached[0] == self._observed:
            return cached[1]
        ordered = sorted(samples)
        position = min(int(self.settings.after_percentile * len(ordered)), len(ordered) - 1)
        value = ordered[position]
        self._cached[model_id] = (self._observed, value)
        return value

    def count_eligible(self, now: float) -> None:
        self._eligible.record(True, now)

    def try_hedge(self, now: float) -> bool:
        """Whether one more hedge fits `max_share` of eligible requests (and count it)."""
        _, eligible = self._eligible.counts(now)
        _, hedged = self._hedged.counts(now)
        if hedged + 1 > self.settings.max_share * eligible:
            return False
        self._hedged.record(True, now)
        return True
