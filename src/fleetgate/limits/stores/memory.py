"""The in-memory limit store (`memory://`): per-key numbers and live multipliers in dicts.

`MemoryStore` is synchronous and pure: each operation runs the core (`decide`, `settle`,
`snapshot`) at the `now` it is given and writes the updates, so the simulator runs it on virtual
time through `Limiter.admit`/`Limiter.settle`. `AsyncMemoryStore` is the same store behind the
async `LimitStore` seam the gateway's `GuardedLimiter` speaks; it never awaits inside an
operation, so on one event loop every admission and settlement stays atomic, and a multiplier set
through the admin API applies to the very next request of this process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fleetgate.limits import core
from fleetgate.limits.rules import Charge, Costs, Decision, KeyState, Rule, RuleStatus, Settlement
from fleetgate.seams import Clock, WallClock


class MemoryStore:
    """Limit state of one process. `decisions` and `settlements` count the operations run."""

    def __init__(self) -> None:
        self._states: dict[str, KeyState] = {}
        self.multipliers: dict[str, float] = {}
        self.decisions = 0
        self.settlements = 0

    def admit(self, key: str, rules: Sequence[Rule], demand: Costs, now: float) -> Decision:
        """Decide at `now` and, when admitted, write the charges (`core.decide`)."""
        self.decisions += 1
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = {}
        decision = core.decide(rules, state, self.multipliers, demand, now)
        if decision.updates:
            state.update(decision.updates)
        return decision

    def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float,
    ) -> Settlement:
        """Replace the charges of one admission by the actual costs (`core.settle`)."""
        self.settlements += 1
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = {}
        settlement = core.settle(rules, state, charges, actual, now)
        if settlement.updates:
            state.update(settlement.updates)
        return settlement

    def peek(self, key: str, rules: Sequence[Rule], now: float) -> tuple[RuleStatus, ...]:
        """Every rule's status at `now`, changing nothing (`core.snapshot`)."""
        return core.snapshot(rules, self._states.get(key, {}), self.multipliers, now)

    def set_multiplier(self, name: str, factor: float) -> None:
        """Set one live multiplier (``<plan>:<window>``); a factor of 1 removes it."""
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"a multiplier must be a positive number, got {factor!r}")
        if factor == 1.0:
            self.multipliers.pop(name, None)
        else:
            self.multipliers[name] = factor

    def state_of(self, key: str) -> KeyState:
        """A copy of the stored numbers of `key` (for tests and differential checks)."""
        return dict(self._states.get(key, {}))


class AsyncMemoryStore:
    """A `MemoryStore` behind the async `LimitStore` seam; its clock is the local wall clock."""

    def __init__(self) -> None:
        self.store = MemoryStore()

    def clock(self) -> Clock:
        """The clock this store's numbers are stamped with: the local wall clock."""
        return WallClock()

    async def admit(self, key: str, rules: Sequence[Rule], demand: Costs, now: float) -> Decision:
        return self.store.admit(key, rules, demand, now)

    async def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float,
    ) -> Settlement:
        return self.store.settle(key, rules, charges, actual, now)

    async def peek(self, key: str, rules: Sequence[Rule], now: float) -> tuple[RuleStatus, ...]:
        return self.store.peek(key, rules, now)

    async def get_multipliers(self) -> dict[str, float]:
        return dict(self.store.multipliers)

    async def set_multiplier(self, name: str, factor: float) -> None:
        self.store.set_multiplier(name, factor)

    async def close(self) -> None:
        return None
