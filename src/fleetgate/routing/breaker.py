"""The circuit breaker of one backend: a pure state machine on the time it is given.

A `CircuitBreaker` is closed (traffic flows), open (no traffic until a jittered deadline) or
half-open (a few trial requests decide). It opens on `consecutive_failures` in a row, or when the
error rate over `error_rate_window_s` reaches `error_rate` with at least `min_requests` attempts.
Each reopening doubles the open time up to `max_open_s`; the deadline is jittered with the
`random.Random` passed in, so a fleet of breakers that opened together does not probe together.

`fleetgate.routing.health` keeps one per backend and turns its verdicts into the routable mask.
"""

from __future__ import annotations

import math
import random
from typing import Literal

from fleetgate.routing.availability import RollingRatio
from fleetgate.routing.config import BreakerSettings

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed / open / half-open state machine of one backend; every call takes `now`."""

    __slots__ = (
        "_consecutive",
        "_reopen_at",
        "_settings",
        "_trials",
        "_window",
        "last_reason",
        "opened_count",
        "state",
    )

    def __init__(self, settings: BreakerSettings | None = None) -> None:
        self._settings = settings or BreakerSettings()
        self.state: BreakerState = "closed"
        self.opened_count = 0
        self.last_reason = ""
        self._consecutive = 0
        self._reopen_at = -math.inf
        self._trials = 0
        self._window = RollingRatio(self._settings.error_rate_window_s, 10)

    @property
    def reopen_at(self) -> float:
        """When an open breaker turns half-open (minus infinity when it is not open)."""
        return self._reopen_at if self.state == "open" else -math.inf

    def state_at(self, now: float) -> BreakerState:
        """The state at `now`: an open breaker whose deadline passed becomes half-open."""
        if self.state == "open" and now >= self._reopen_at:
            self.state = "half_open"
            self._trials = 0
        return self.state

    def allows(self, now: float) -> bool:
        """Whether a new request may go to this backend now."""
        state = self.state_at(now)
        if state == "closed":
            return True
        return state == "half_open" and self._trials < self._settings.half_open_probes

    def on_begin(self, now: float) -> None:
        """A request was sent; in half-open it takes one trial slot."""
        if self.state_at(now) == "half_open":
            self._trials += 1

    def on_abandon(self, now: float) -> None:
        """A request ended without a verdict on the backend (the client went away)."""
        if self.state_at(now) == "half_open" and self._trials > 0:
            self._trials -= 1

    def record(self, ok: bool, now: float, rng: random.Random) -> bool:
        """Count one outcome; returns True when the state changed."""
        before = self.state if self.state != "open" else self.state_at(now)
        if before == "half_open":
            self._trials = max(self._trials - 1, 0)
            if ok:
                self._close()
            else:
                self._open(now, rng, "trial request failed while half-open")
            return True
        if before == "open":
            return False
        self._window.record(ok, now)
        if ok:
            self._consecutive = 0
            return False
        self._consecutive += 1
        settings = self._settings
        if self._consecutive >= settings.consecutive_failures:
            self._open(now, rng, f"{self._consecutive} consecutive failures")
            return True
        good, total = self._window.counts(now)
        if total >= settings.min_requests and (total - good) / total >= settings.error_rate:
            self._open(now, rng, f"error rate {(total - good) / total:.0%} over {total} requests")
            return True
        return False

    def trip(self, now: float, rng: random.Random, reason: str) -> None:
        """Open now (outlier ejection, an operator's decision)."""
        self.state_at(now)
        self._open(now, rng, reason)

    def reset(self) -> None:
        """Close and forget history."""
        self._close()

    def _open(self, now: float, rng: random.Random, reason: str) -> None:
        settings = self._settings
        self.opened_count += 1
        base = min(settings.open_s * 2 ** (self.opened_count - 1), settings.max_open_s)
        spread = settings.jitter * (2.0 * rng.random() - 1.0)
        self._reopen_at = now + base * (1.0 + spread)
        self.state = "open"
        self.last_reason = reason
        self._consecutive = 0
        self._trials = 0
        self._window = RollingRatio(settings.error_rate_window_s, 10)

    def _close(self) -> None:
        self.state = "closed"
        self.opened_count = 0
        self._consecutive = 0
        self._trials = 0
        self._reopen_at = -math.inf
        self._window = RollingRatio(self._settings.error_rate_window_s, 10)
