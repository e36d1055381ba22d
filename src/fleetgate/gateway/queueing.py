"""Optional bounded queueing for requests that find every allowed backend saturated.

With `routing.queue.enabled`, a request the router refuses as overloaded waits instead of getting
an immediate 529, bounded twice: at most `max_queued` requests wait per model, and each waits at
most `max_wait_s`; past either bound the answer is the router's 529 with its retry-after.
Waiters of one model form a priority queue (higher priority class first, then arrival order);
only the head asks the router again, whenever a backend finishes a request (`notify`) and at
least every `POLL_S` seconds (engine metrics change without any request finishing).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from typing import TypeVar

from fleetgate.errors import Overloaded
from fleetgate.routing.config import QueueSettings

POLL_S = 0.05
"""Longest time the head of a queue waits before asking the router again."""

T = TypeVar("T")


class _Waiter:
    __slots__ = ("key", "wake")

    def __init__(self, priority: int, order: int) -> None:
        self.key = (-priority, order)
        self.wake = asyncio.Event()

    def __lt__(self, other: _Waiter) -> bool:
        return self.key < other.key


class WaitQueue:
    """Per-model priority queues of requests waiting for a backend with room."""

    def __init__(self, settings: QueueSettings) -> None:
        self.settings = settings
        self._queues: dict[str, list[_Waiter]] = {}
        self._order = itertools.count()

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def waiting(self, model_id: str | None = None) -> int:
        """Requests waiting now (for one model, or in all)."""
        if model_id is not None:
            return len(self._queues.get(model_id, ()))
        return sum(len(queue) for queue in self._queues.values())

    def notify(self, model_id: str) -> None:
        """A backend of `model_id` may have room now: the head of its queue asks again."""
        queue = self._queues.get(model_id)
        if queue:
            queue[0].wake.set()

    async def wait_for_room(
        self,
        model_id: str,
        priority: int,
        refusal: Overloaded,
        attempt: Callable[[], T],
    ) -> T:
        """Call `attempt` as head of the queue until it stops raising Overloaded or time is up.

        `refusal` is the router's first answer; it (or a later one) is raised when the queue is
        full or the wait exceeds `max_wait_s`.
        """
        queue = self._queues.setdefault(model_id, [])
        if len(queue) >= self.settings.max_queued:
            raise refusal
        waiter = _Waiter(priority, next(self._order))
        heapq.heappush(queue, waiter)
        deadline = time.monotonic() + self.settings.max_wait_s
        last = refusal
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wake.wait(), min(remaining, POLL_S))
                waiter.wake.clear()
                if queue[0] is not waiter:
                    continue
                try:
                    return attempt()
                except Overloaded as exc:
                    last = exc
            raise last
        finally:
            queue.remove(waiter)
            heapq.heapify(queue)
            if queue:
                queue[0].wake.set()
            else:
                self._queues.pop(model_id, None)
