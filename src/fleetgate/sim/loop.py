"""The discrete-event core: a heap of callbacks keyed (time, priority, seq) on a virtual clock.

Owns virtual time and nothing else. An event is a plain callback with one argument; handlers
schedule further events. Ties at the same instant run in priority order (lower first), then in
the order they were scheduled (`seq`), so a run is fully deterministic. No wall clock, no
sleeps, no threads: `run(until)` pops events until the heap is empty or the next one lies
beyond `until`, and leaves `now` at `until`.

Cancellation is left to the caller (a version number checked by the handler), which keeps the
heap a flat list of tuples: the fastest structure CPython offers for this.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]
_push = heapq.heappush

# Priorities for events due at the same instant: faults first (a site that fails at t serves
# nothing at t), then completions (freeing capacity), then scrapes, then arrivals.
PRIORITY_FAULT = 0
PRIORITY_COMPLETION = 1
PRIORITY_SCRAPE = 2
PRIORITY_ARRIVAL = 3


class EventLoop:
    """Virtual time and the events still to come."""

    __slots__ = ("_heap", "_seq", "events", "now")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.events = 0
        self._heap: list[tuple[float, int, int, Handler, Any]] = []
        self._seq = itertools.count()

    def schedule(self, at: float, priority: int, handler: Handler, argument: Any = None) -> None:
        """Run `handler(argument)` at virtual time `at` (never earlier than now)."""
        now = self.now
        _push(self._heap, (at if at > now else now, priority, next(self._seq), handler, argument))

    def after(self, delay: float, priority: int, handler: Handler, argument: Any = None) -> None:
        """Run `handler(argument)` `delay` seconds from now (`delay` >= 0)."""
        now = self.now
        at = now + delay
        _push(self._heap, (at if at > now else now, priority, next(self._seq), handler, argument))

    @property
    def pending(self) -> int:
        """Events scheduled and not yet run."""
        return len(self._heap)

    def next_time(self) -> float | None:
        """When the next event is due, or None when none is left."""
        return self._heap[0][0] if self._heap else None

    def run(self, until: float) -> int:
        """Run every event due at or before `until`; returns how many ran."""
        heap = self._heap
        pop = heapq.heappop
        ran = 0
        while heap and heap[0][0] <= until:
            at, _priority, _seq, handler, argument = pop(heap)
            self.now = at
            handler(argument)
            ran += 1
        self.events += ran
        self.now = max(self.now, until)
        return ran
