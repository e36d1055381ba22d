"""The embedded limit store (`memory://`): state in a dict, one process, the default.

Each operation runs the pure core and writes its updates without awaiting in between, so on one
event loop every admission and settlement is atomic. Multipliers live here too, so a multiplier
set through the admin API applies to the very next request of this process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from fleetgate.limits import core
from fleetgate.limits.model import Charge, Costs, Decision, Rule, RuleStatus, Settlement, State


class MemoryStore:
    """Limit state of one process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._states: dict[str, State] = {}
        self._multipliers: dict[str, float] = {}

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    async def admit(
        self, key: str, rules: Sequence[Rule], demand: Costs, now: float | None = None
    ) -> Decision:
        state = self._states.get(key, {})
        decision = core.decide(rules, state, self._multipliers, demand, self._now(now))
        if decision.updates:
            self._states.setdefault(key, {}).update(decision.updates)
        return decision

    async def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float | None = None,
    ) -> Settlement:
        state = self._states.get(key, {})
        settlement = core.settle(rules, state, charges, actual, self._now(now))
        if settlement.updates:
            self._states.setdefault(key, {}).update(settlement.updates)
        return settlement

    async def peek(
        self, key: str, rules: Sequence[Rule], now: float | None = None
    ) -> tuple[tuple[RuleStatus, ...], float]:
        moment = self._now(now)
        state = self._states.get(key, {})
        return core.snapshot(rules, state, self._multipliers, moment), moment

    async def get_multipliers(self) -> dict[str, float]:
        return dict(self._multipliers)

    async def set_multiplier(self, name: str, factor: float) -> None:
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"a multiplier must be a positive number, got {factor!r}")
        if factor == 1.0:
            self._multipliers.pop(name, None)
        else:
            self._multipliers[name] = factor

    async def close(self) -> None:
        return None

    def state_of(self, key: str) -> State:
        """A copy of the stored numbers of `key` (for tests and differential checks)."""
        return dict(self._states.get(key, {}))
