"""The limiter over an async store, as the gateway calls it: the store's clock, store health,
fail-open or fail-closed, and settlements kept while the store is down.

`GuardedLimiter` runs the pure `Limiter`'s steps around the store's atomic operations: `ask`
(rules and costs at `now`) -> `store.admit` -> `answer`, and `to_settle` -> `store.settle`. One
`now` per operation comes from the clock it is given (`open_limiter`: the store's own, so Redis
server time when limits live in Redis); the same `now` chooses the peak-hour rules and stamps the
store's numbers. A `StoreClock` is refreshed when stale, before the operation.

Store failures follow ``limits.on_store_error``: ``open`` admits without limits (and without
headers), ``closed`` answers `Overloaded`; either way the failure is counted in
`store_errors`, logged once per outage, and settlements that could not be written are kept (up
to ``limits.pending_settlements``) and written when the store answers again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from fleetgate.errors import Overloaded, StoreUnavailable
from fleetgate.limits.config import Account, LimitsSettings
from fleetgate.limits.limiter import Admission, Limiter, Refusal, ToSettle
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.limits.stores.seam import LimitStore, StoreClock, store_from_uri
from fleetgate.seams import Clock, Usage

STORE_ERRORS = (StoreUnavailable, OSError, TimeoutError)
LOG = logging.getLogger("fleetgate.limits")


class GuardedLimiter:
    """Plan and tier limits for every tenant, over one async `LimitStore`, on one clock."""

    def __init__(self, limiter: Limiter, store: LimitStore, clock: Clock) -> None:
        self.limiter = limiter
        self.config = limiter.config
        self.store = store
        self.clock = clock
        self._refreshing: StoreClock | None = clock if isinstance(clock, StoreClock) else None
        self.store_errors = 0
        self._store_down = False
        self._pending: deque[ToSettle] = deque()

    async def _now(self) -> float:
        """The clock's `now`, refreshed first when it is a stale `StoreClock` (when the store
        does not answer, its last reading goes on: the operation itself meets the outage)."""
        refreshing = self._refreshing
        if refreshing is not None and refreshing.stale():
            try:
                await refreshing.refresh()
            except STORE_ERRORS as exc:
                LOG.debug("limits store clock not read (%s)", exc)
        return self.clock.now()

    # ------------------------------------------------------------------ store health

    def _store_failed(self, operation: str, exc: BaseException) -> None:
        self.store_errors += 1
        if not self._store_down:
            self._store_down = True
            LOG.warning(
                "limits store unavailable during %s (%s); failing %s",
                operation,
                exc,
                self.config.on_store_error,
            )

    @property
    def store_down(self) -> bool:
        """Whether the last store call failed (the outage is not over yet)."""
        return self._store_down

    def _store_ok(self) -> None:
        if self._store_down:
            self._store_down = False
            LOG.warning("limits store reachable again")

    async def _write(self, item: ToSettle, now: float) -> None:
        await self.store.settle(item.key, item.rules, item.charges, item.actual, now)

    async def _flush_pending(self, now: float) -> None:
        while self._pending:
            await self._write(self._pending[0], now)
            self._pending.popleft()

    def _keep_pending(self, item: ToSettle) -> None:
        if len(self._pending) >= self.config.pending_settlements:
            self._pending.popleft()
            LOG.warning("limits: dropped the oldest unwritten settlement (queue full)")
        self._pending.append(item)

    @property
    def pending_settlements(self) -> int:
        """Settlements waiting for the store to answer again."""
        return len(self._pending)

    # ------------------------------------------------------------------ admission

    async def admit(self, tenant: Account, request: AdmissionRequest) -> Admission:
        """Admit `request` against every limit of `tenant` at once, or raise `RateLimited`
        (refused), `Overloaded` (store down, failing closed) or `InvalidRequest`."""
        limiter = self.limiter
        who = limiter.limits_of(tenant.id, tenant.plan, tenant.tier)
        now = await self._now()
        ask = limiter.ask(who, request, now)
        if not ask.rules:
            return Admission(ask, None, self.config.warning_threshold)
        try:
            await self._flush_pending(now)
            decision = await self.store.admit(who.key, ask.rules, ask.costs, now)
        except STORE_ERRORS as exc:
            self._store_failed("admission", exc)
            if self.config.on_store_error == "open":
                return Admission(ask, None, self.config.warning_threshold)
            raise Overloaded(
                "Rate limits cannot be checked right now; please retry shortly."
            ) from exc
        self._store_ok()
        outcome = limiter.answer(ask, decision)
        if isinstance(outcome, Refusal):
            raise outcome.error()
        return outcome

    # ------------------------------------------------------------------ settlement

    async def settle(self, admission: Admission, usage: Usage) -> bool:
        """Charge what the request really used, once: a second call returns False."""
        if admission.settled:
            return False
        admission.settled = True
        item = self.limiter.to_settle(admission, usage)
        if item is None:
            return True
        try:
            now = await self._now()
            await self._flush_pending(now)
            await self._write(item, now)
        except STORE_ERRORS as exc:
            self._store_failed("settlement", exc)
            self._keep_pending(item)
            return True
        self._store_ok()
        return True

    # ------------------------------------------------------------------ reports

    async def usage_report(self, tenant: Account) -> dict[str, Any]:
        """Each window's (plans) or bucket's (tiers) utilization 0..100 and reset time."""
        limiter = self.limiter
        who = limiter.limits_of(tenant.id, tenant.plan, tenant.tier)
        try:
            now = await self._now()
            rules = limiter.report_rules(who, now)
            if not rules:
                return {}
            statuses = await self.store.peek(who.key, rules, now)
        except STORE_ERRORS as exc:
            self._store_failed("usage report", exc)
            raise Overloaded("Usage cannot be read right now; please retry shortly.") from exc
        self._store_ok()
        return limiter.usage_report(who, rules, statuses)

    async def close(self) -> None:
        """Close the store (pending settlements are tried one last time)."""
        try:
            await self._flush_pending(await self._now())
        except STORE_ERRORS as exc:
            self._store_failed("close", exc)
            LOG.warning("limits: %d settlements could not be written", len(self._pending))
        await self.store.close()

    # ------------------------------------------------------------------ multipliers

    async def set_multiplier(self, plan: str, window: str, factor: float) -> None:
        """Scale one plan window's budget for every replica, from the next request on."""
        name = self.limiter.multiplier_name(plan, window, factor)
        try:
            await self.store.set_multiplier(name, float(factor))
        except STORE_ERRORS as exc:
            self._store_failed("set multiplier", exc)
            raise Overloaded("Multipliers cannot be stored right now; please retry.") from exc
        self._store_ok()

    async def get_multipliers(self) -> dict[str, float]:
        """Every live multiplier, ``<plan>:<window>`` -> factor (absent means 1)."""
        try:
            found = await self.store.get_multipliers()
        except STORE_ERRORS as exc:
            self._store_failed("get multipliers", exc)
            raise Overloaded("Multipliers cannot be read right now; please retry.") from exc
        self._store_ok()
        return dict(sorted(found.items()))


def open_limiter(config: LimitsSettings, accounts: Iterable[Account] = ()) -> GuardedLimiter:
    """The limiter of a gateway process: the store `config.store` names (connected lazily),
    on that store's clock (Redis: the server's)."""
    store = store_from_uri(config.store)
    return GuardedLimiter(Limiter(config, accounts), store, store.clock())
