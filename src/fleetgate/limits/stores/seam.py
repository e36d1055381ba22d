"""The async limit store seam: what a store behind the `GuardedLimiter` does, and the store a
`limits.store` URI names.

A store holds, per key (``plan:<tenant>`` or ``org:<organization>``), the flat numbers the core
works on, and the live multipliers (``<plan>:<window>`` -> factor) shared by every replica. It
runs `fleetgate.limits.core` atomically on them: `admit` and `settle` read the key's state and the
multipliers, run the core at the `now` they are given, and write the updates, as one step. A store
that cannot be reached raises `StoreUnavailable`.

Each store also names the clock its numbers should be stamped with (`clock()`): the local wall
clock in memory, the server's clock for Redis (`RedisClock`), so that replicas sharing a store
agree on window starts and resets whatever their own clocks say. A clock that must be read from
the store now and then is a `StoreClock`.

URIs: ``memory://`` (embedded, one process). ``redis://``, ``rediss://`` and
``redis+cluster://`` are served by `fleetgate.limits.stores.redis.open_redis_store(uri)` when
that module (and its client library) is present.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from fleetgate.errors import ConfigurationError
from fleetgate.limits.rules import Charge, Costs, Decision, Rule, RuleStatus, Settlement
from fleetgate.seams import Clock

REDIS_SCHEMES = ("redis", "rediss", "redis+cluster")


class LimitStore(Protocol):
    """Persists limit state; every method is one atomic step against one key."""

    def clock(self) -> Clock:
        """The clock this store's numbers are stamped with."""
        ...

    async def admit(self, key: str, rules: Sequence[Rule], demand: Costs, now: float) -> Decision:
        """Decide and, when admitted, write the charges (`core.decide`)."""
        ...

    async def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float,
    ) -> Settlement:
        """Replace the charges of one admission by the actual costs (`core.settle`)."""
        ...

    async def peek(self, key: str, rules: Sequence[Rule], now: float) -> tuple[RuleStatus, ...]:
        """Every rule's status at `now`, changing nothing (`core.snapshot`)."""
        ...

    async def get_multipliers(self) -> dict[str, float]:
        """Every live multiplier, ``<plan>:<window>`` -> factor."""
        ...

    async def set_multiplier(self, name: str, factor: float) -> None:
        """Set one live multiplier; a factor of 1 removes it."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class StoreClock(Protocol):
    """A clock read from the store now and then and advanced locally in between."""

    def now(self) -> float:
        """The store's time now (seconds since the Unix epoch), from the last reading."""
        ...

    def stale(self) -> bool:
        """Whether it is time to read the store's clock again."""
        ...

    async def refresh(self) -> None:
        """Read the store's clock (one round trip; `StoreUnavailable` when unreachable)."""
        ...


def store_from_uri(uri: str) -> LimitStore:
    """The store a `limits.store` URI names; unknown schemes are configuration errors."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        if parts.netloc or parts.path.strip("/") or parts.query:
            raise ConfigurationError(f"limits.store: expected 'memory://', got {uri!r}")
        from fleetgate.limits.stores.memory import AsyncMemoryStore

        return AsyncMemoryStore()
    if scheme in REDIS_SCHEMES:
        try:
            module = importlib.import_module("fleetgate.limits.stores.redis")
        except ImportError as exc:
            raise ConfigurationError(
                f"limits.store: the Redis store is not available in this build ({exc})"
            ) from exc
        store: LimitStore = module.open_redis_store(uri)
        return store
    raise ConfigurationError(
        "limits.store: expected a URI starting with memory://, redis://, rediss:// or "
        f"redis+cluster://, got {uri!r}"
    )
