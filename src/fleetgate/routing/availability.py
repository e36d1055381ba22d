"""Availability: rolling success ratios per backend, pool, site and end to end, as nines and
error-budget burn against an SLO.

Definitions (the usual SRE ones):
    ratio      = successes / attempts in the window
    nines      = -log10(1 - ratio)            (0.999 -> 3.0; a perfect window -> infinity)
    burn rate  = (1 - ratio) / (1 - slo)      (1.0 spends the budget exactly over the SLO period)
Pure: every call takes `now`; nothing reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from fleetgate.routing.config import AvailabilitySettings

Scope = Literal["backend", "pool", "site", "end_to_end"]
SCOPES: tuple[Scope, ...] = ("backend", "pool", "site", "end_to_end")


class RollingRatio:
    """Successes and attempts over the last `window_s` seconds, kept in `buckets` time buckets.

    The window slides one bucket at a time, so it covers between `window_s - window_s/buckets`
    and `window_s` seconds. Updates and reads are O(1) amortized. A `now` earlier than the
    newest bucket counts into the newest bucket (time never goes back here). The end of the
    newest bucket is kept as a time (`until`), so a record inside it is one comparison.
    """

    __slots__ = (
        "_bucket_s",
        "_last",
        "_n",
        "_newest",
        "_ok",
        "_sum_ok",
        "_sum_total",
        "_total",
        "until",
        "window_s",
    )

    def __init__(self, window_s: float, buckets: int = 60) -> None:
        if window_s <= 0 or buckets <= 0:
            raise ValueError("window_s and buckets must be positive")
        self.window_s = window_s
        self._n = buckets
        self._bucket_s = window_s / buckets
        self._ok = [0] * buckets
        self._total = [0] * buckets
        self._last: int | None = None
        self._newest = 0
        self.until = -math.inf
        """Records before this time fall in the newest bucket (nothing slides)."""
        self._sum_ok = 0
        self._sum_total = 0

    def _slot(self, now: float) -> int:
        bucket = math.floor(now / self._bucket_s)
        last = self._last
        if last is not None and bucket <= last:
            return self._newest
        if last is not None:
            for step in range(1, min(bucket - last, self._n) + 1):
                slot = (last + step) % self._n
                self._sum_ok -= self._ok[slot]
                self._sum_total -= self._total[slot]
                self._ok[slot] = 0
                self._total[slot] = 0
        self._last = bucket
        self._newest = bucket % self._n
        self.until = bucket_end(bucket, self._bucket_s)
        return self._newest

    def record(self, ok: bool, now: float, count: int = 1) -> None:
        """Count `count` attempts that succeeded (`ok`) or failed at `now`."""
        slot = self._newest if now < self.until else self._slot(now)
        self._total[slot] += count
        self._sum_total += count
        if ok:
            self._ok[slot] += count
            self._sum_ok += count

    def add(self, successes: int, attempts: int) -> None:
        """Count attempts made before `until` into the newest bucket (no time given: nothing
        slides); for a `WindowGroup` writing what it gathered."""
        slot = self._newest
        self._total[slot] += attempts
        self._sum_total += attempts
        self._ok[slot] += successes
        self._sum_ok += successes

    def counts(self, now: float) -> tuple[int, int]:
        """(successes, attempts) in the window ending at `now`."""
        self._slot(now)
        return self._sum_ok, self._sum_total

    def ratio(self, now: float) -> float | None:
        """Success ratio in the window, or None when nothing was attempted."""
        ok, total = self.counts(now)
        return ok / total if total else None


def bucket_end(bucket: int, width: float) -> float:
    """The first time `t` with ``floor(t / width) > bucket``: exactly, in floating point (float
    division is monotonic, so every earlier time lies in `bucket` or before)."""
    end = (bucket + 1) * width
    below = math.nextafter(end, -math.inf)
    while math.floor(below / width) > bucket:
        end, below = below, math.nextafter(below, -math.inf)
    while math.floor(end / width) <= bucket:
        end = math.nextafter(end, math.inf)
    return end


class WindowGroup:
    """The windows of one scope (e.g. 5 min, 1 h and 1 day of one backend), recorded together.

    Records that fall before every window's next bucket boundary (`until`) land in the newest
    bucket of every window, so they are only counted here (one comparison and two additions)
    and written to the windows when a boundary is crossed or before a read (`flush`): exactly
    what recording each into every window would give.
    """

    __slots__ = ("ok", "total", "until", "windows")

    def __init__(self, windows: tuple[RollingRatio, ...]) -> None:
        self.windows = windows
        self.ok = 0
        self.total = 0
        self.until = -math.inf

    def record(self, ok: bool, now: float) -> None:
        """One attempt that succeeded (`ok`) or failed at `now`."""
        if now < self.until:
            self.total += 1
            if ok:
                self.ok += 1
            return
        self.record_slow(ok, now)

    def record_slow(self, ok: bool, now: float) -> None:
        """`record` for a `now` at or past `until`: flush, then record into every window."""
        self.flush()
        for window in self.windows:
            window.record(ok, now)
        self.until = min(window.until for window in self.windows)

    def flush(self) -> None:
        """Write the gathered counts to every window's newest bucket."""
        if self.total:
            for window in self.windows:
                window.add(self.ok, self.total)
            self.ok = self.total = 0


def nines(ratio: float) -> float:
    """-log10(1 - ratio): 0.99 -> 2, 0.99999 -> 5; a ratio of 1 (or more) -> infinity."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"a success ratio lies in [0, 1], got {ratio}")
    return math.inf if ratio >= 1.0 else -math.log10(1.0 - ratio)


def burn_rate(ratio: float, slo: float) -> float:
    """How fast the error budget burns: failure share over allowed failure share."""
    if not 0.0 < slo < 1.0:
        raise ValueError(f"an SLO lies strictly between 0 and 1, got {slo}")
    return (1.0 - ratio) / (1.0 - slo)


@dataclass(frozen=True, slots=True)
class WindowReport:
    """Availability of one scope over one window."""

    scope: Scope
    id: str
    window_s: float
    successes: int
    attempts: int
    ratio: float | None
    nines: float | None
    burn_rate: float | None
    slo: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: infinite nines (a perfect window) are written as None with `perfect`."""
        finite = self.nines is not None and math.isfinite(self.nines)
        return {
            "scope": self.scope,
            "id": self.id,
            "window_s": self.window_s,
            "successes": self.successes,
            "attempts": self.attempts,
            "ratio": self.ratio,
            "nines": self.nines if finite else None,
            "perfect": self.ratio == 1.0,
            "burn_rate": self.burn_rate,
            "slo": self.slo,
        }


class AvailabilityTracker:
    """Rolling windows for every backend, pool and site that saw attempts, and end to end.

    Backend attempts (each try on one backend) feed the backend, pool and site scopes; client
    requests (after any failover) feed `end_to_end`, which is what a customer experiences.
    """

    def __init__(self, settings: AvailabilitySettings | None = None) -> None:
        self.settings = settings or AvailabilitySettings()
        self._windows: dict[tuple[Scope, str], WindowGroup] = {}
        self._attempt_windows: dict[tuple[str, str, str], tuple[WindowGroup, ...]] = {}
        self._end_to_end: WindowGroup | None = None

    def _group(self, scope: Scope, ident: str) -> WindowGroup:
        key = (scope, ident)
        group = self._windows.get(key)
        if group is None:
            buckets = self.settings.buckets
            ratios = tuple(RollingRatio(w, buckets) for w in self.settings.windows_s)
            group = self._windows[key] = WindowGroup(ratios)
        return group

    def record_attempt(
        self, backend_id: str, pool_id: str, site_id: str, *, ok: bool, now: float
    ) -> None:
        """One attempt on one backend finished, successfully or not."""
        key = (backend_id, pool_id, site_id)
        groups = self._attempt_windows.get(key)
        if groups is None:  # the backend's, its pool's and its site's windows, in that order
            groups = self._attempt_windows[key] = (
                self._group("backend", backend_id),
                self._group("pool", pool_id),
                self._group("site", site_id),
            )
        for group in groups:  # WindowGroup.record, inline: this runs on every attempt
            if now < group.until:
                group.total += 1
                if ok:
                    group.ok += 1
            else:
                group.record_slow(ok, now)

    def record_request(self, *, ok: bool, now: float) -> None:
        """One client request finished (after failover), successfully or not."""
        group = self._end_to_end
        if group is None:
            group = self._end_to_end = self._group("end_to_end", "all")
        group.record(ok, now)

    def report(self, now: float, scope: Scope | None = None) -> list[WindowReport]:
        """Every tracked scope (or only `scope`) over every configured window."""
        slo = self.settings.slo
        reports: list[WindowReport] = []
        for (kind, ident), group in sorted(self._windows.items()):
            if scope is not None and kind != scope:
                continue
            group.flush()
            for window in group.windows:
                ok, total = window.counts(now)
                ratio = ok / total if total else None
                reports.append(
                    WindowReport(
                        scope=kind,
                        id=ident,
                        window_s=window.window_s,
                        successes=ok,
                        attempts=total,
                        ratio=ratio,
                        nines=None if ratio is None else nines(ratio),
                        burn_rate=None if ratio is None else burn_rate(ratio, slo),
                        slo=slo,
                    )
                )
        return reports

    def snapshot(self, now: float, scope: Scope | None = None) -> list[dict[str, Any]]:
        """`report` as JSON-ready dictionaries, for the admin endpoint."""
        return [item.as_dict() for item in self.report(now, scope)]
