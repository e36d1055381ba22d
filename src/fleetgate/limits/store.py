"""The limit store seam: one atomic admission or settlement per call, selected by URI.

A store holds, per key (``plan:<tenant>`` or ``org:<organization>``), the flat numbers the core
works on, and the live multipliers (``<plan>:<window>`` -> factor) shared by every replica. It
runs `fleetgate.limits.core` atomically on them: `admit` and `settle` read the key's state and the
multipliers, call the pure core with `now`, and write the updates, as one step. ``now=None`` means
the store's own clock (memory: the wall clock; Redis: the server's TIME). A store that cannot be
reached raises `StoreUnavailable`.

URIs: ``memory://`` (embedded, one process). ``redis://``, ``rediss://`` and
``redis+cluster://`` are served by `fleetgate.limits.store_redis.open_redis_store(uri)` when that
module is present.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from fleetgate.errors import ConfigurationError
from fleetgate.limits.model import Charge, Costs, Decision, Rule, RuleStatus, Settlement

REDIS_SCHEMES = ("redis", "rediss", "redis+cluster")


class LimitStore(Protocol):
    """Persists limit state; every method is one atomic step against one key."""

    async def admit(
        self, key: str, rules: Sequence[Rule], demand: Costs, now: float | None = None
    ) -> Decision:
        """Decide and, when admitted, write the charges (`core.decide`)."""
        ...

    async def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float | None = None,
    ) -> Settlement:
        """Replace the charges of one admission by the actual costs (`core.settle`)."""
        ...

    async def peek(
        self, key: str, rules: Sequence[Rule], now: float | None = None
    ) -> tuple[tuple[RuleStatus, ...], float]:
        """Every rule's status and the `now` used, changing nothing (`core.snapshot`)."""
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


def store_from_uri(uri: str) -> LimitStore:
    """The store a `limits.store` URI names; unknown schemes are configuration errors."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        if parts.netloc or parts.path.strip("/") or parts.query:
            raise ConfigurationError(f"limits.store: expected 'memory://', got {uri!r}")
        from fleetgate.limits.store_memory import MemoryStore

        return MemoryStore()
    if scheme in REDIS_SCHEMES:
        try:
            module = importlib.import_module("fleetgate.limits.store_redis")
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
