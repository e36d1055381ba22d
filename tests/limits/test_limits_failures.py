"""Store failures: fail-open or fail-closed, counted, logged, settlements kept until recovery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from fleetgate.errors import InvalidRequest, Overloaded, StoreUnavailable
from fleetgate.limits.limiter import Limiter
from fleetgate.limits.rulebook import AdmissionRequest
from fleetgate.limits.rules import Charge, Costs, Decision, Rule, RuleStatus, Settlement
from fleetgate.limits.stores.guard import GuardedLimiter
from fleetgate.limits.stores.memory import AsyncMemoryStore
from fleetgate.seams import ManualClock, Usage
from fleetgate.settings import TenantSettings, settings_from_mapping


class FlakyStore(AsyncMemoryStore):
    """A memory store that can be switched off."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")

    async def admit(self, key: str, rules: Sequence[Rule], demand: Costs, now: float) -> Decision:
        self._check()
        return await super().admit(key, rules, demand, now)

    async def settle(
        self,
        key: str,
        rules: Sequence[Rule],
        charges: Sequence[Charge],
        actual: Costs,
        now: float,
    ) -> Settlement:
        self._check()
        return await super().settle(key, rules, charges, actual, now)

    async def peek(self, key: str, rules: Sequence[Rule], now: float) -> tuple[RuleStatus, ...]:
        self._check()
        return await super().peek(key, rules, now)


def build(mode: str) -> tuple[GuardedLimiter, FlakyStore]:
    settings = settings_from_mapping(
        {
            "tenants": [{"id": "acme", "tier": "tier-1"}],
            "limits": {"profile": "v2025", "on_store_error": mode},
        }
    )
    store = FlakyStore()
    limiter = Limiter(settings.limits, settings.tenants)
    return GuardedLimiter(limiter, store, ManualClock(1_000_000.0)), store


DEMAND = AdmissionRequest("messages", "sonnet", 1_000, 0, 0, 4_000)
TENANT = TenantSettings(id="acme", tier="tier-1")


def test_fail_open_admits_and_replays_settlements(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        limiter, store = build("open")
        tenant = TENANT
        admitted = await limiter.admit(tenant, DEMAND)
        store.down = True
        with caplog.at_level(logging.WARNING, logger="fleetgate.limits"):
            assert await limiter.settle(admitted, Usage(1_000, 100))
            blind = await limiter.admit(tenant, DEMAND)
        assert not blind.limited and blind.headers() == {}
        assert limiter.store_errors == 2 and limiter.pending_settlements == 1
        assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1
        with pytest.raises(Overloaded):
            await limiter.usage_report(tenant)
        store.down = False
        await limiter.admit(tenant, DEMAND)
        assert limiter.pending_settlements == 0
        report = await limiter.usage_report(tenant)
        otpm = report["org:sonnet:otpm"]
        assert otpm["remaining"] == 8_000 - 100 - 4_000

    asyncio.run(scenario())


def test_fail_closed_refuses_with_overloaded() -> None:
    async def scenario() -> None:
        limiter, store = build("closed")
        store.down = True
        with pytest.raises(Overloaded):
            await limiter.admit(TENANT, DEMAND)
        assert limiter.store_errors == 1

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "demand",
    [
        AdmissionRequest("batches", "sonnet", 1, 0, 0, 1),
        AdmissionRequest("messages", "sonnet", -1, 0, 0, 1),
        AdmissionRequest("messages", "sonnet", 1, 0, 0, 1.5),  # type: ignore[arg-type]
    ],
)
def test_bad_demands_are_invalid_requests(demand: AdmissionRequest) -> None:
    async def scenario() -> None:
        limiter, _ = build("open")
        with pytest.raises(InvalidRequest):
            await limiter.admit(TENANT, demand)

    asyncio.run(scenario())
