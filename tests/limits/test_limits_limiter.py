"""The Limiter contract: every store in `limits_store_uris.STORE_URIS` must pass all of it.

Tenant ids carry a random suffix so that shared stores (Redis) need no cleaning between tests;
time is a `ManualClock`, passed to the store as `now`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from limits_store_uris import STORE_URIS

from fleetgate.errors import InvalidRequest, RateLimited
from fleetgate.limits.limiter import Limiter, Refusal
from fleetgate.limits.rulebook import SEVEN_DAYS, AdmissionRequest, weekly_phase
from fleetgate.limits.stores.guard import GuardedLimiter
from fleetgate.limits.stores.memory import AsyncMemoryStore, MemoryStore
from fleetgate.limits.stores.seam import store_from_uri
from fleetgate.seams import ManualClock, Usage
from fleetgate.settings import Settings, settings_from_mapping

MONDAY_NOON = 1764590400.0 - 4 * 3600  # 2025-12-01T08:00:00Z, a Monday, outside peak hours


@pytest.fixture(
    params=[
        pytest.param(uri, marks=pytest.mark.redis) if uri.startswith("redis") else uri
        for uri in STORE_URIS
    ]
)
def store_uri(request: pytest.FixtureRequest) -> str:
    uri: str = request.param
    if uri == "redis":
        return str(request.getfixturevalue("redis_url"))
    return uri


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def plan_user() -> str:
    """A fresh account id whose weekly reset is not within a day before or 3 days after the
    scenarios' start, so that no test straddles its weekly boundary."""
    while True:
        name = unique("user")
        since_reset = (MONDAY_NOON - weekly_phase(name)) % SEVEN_DAYS
        if 86400 <= since_reset <= SEVEN_DAYS - 3 * 86400:
            return name


def run(
    store_uri: str,
    data: dict[str, Any],
    scenario: Callable[[GuardedLimiter, Settings, ManualClock], Awaitable[None]],
    start: float = MONDAY_NOON,
) -> None:
    settings = settings_from_mapping(data)
    clock = ManualClock(start)

    async def main() -> None:
        core = Limiter(settings.limits, settings.tenants)
        limiter = GuardedLimiter(core, store_from_uri(store_uri), clock)
        try:
            await scenario(limiter, settings, clock)
        finally:
            await limiter.close()

    asyncio.run(main())


def tier_tenant(name: str, tier: str, profile: str) -> dict[str, Any]:
    """Settings data with one tenant (a fresh id starting with `name`) on API tier `tier`."""
    return {"tenants": [{"id": unique(name), "tier": tier}], "limits": {"profile": profile}}


def tenant(settings: Settings, index: int = 0) -> Any:
    return settings.tenants[index]


def msg(family: str = "sonnet", tokens: int = 0, max_out: int = 0, **more: Any) -> AdmissionRequest:
    return AdmissionRequest(
        endpoint=more.pop("endpoint", "messages"),
        model_family=family,
        estimated_input_tokens=tokens,
        max_output_tokens=max_out,
        **more,
    )


# --------------------------------------------------------------------------- tiers


def test_unlimited_tenants_get_no_headers_and_settle_once(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        admission = await limiter.admit(tenant(settings), msg(tokens=10**9))
        assert admission.headers("anthropic") == {} and admission.headers("openai") == {}
        assert await limiter.settle(admission, Usage(10, 10)) is True
        assert await limiter.settle(admission, Usage(10, 10)) is False
        assert await limiter.usage_report(tenant(settings)) == {}

    run(store_uri, {"tenants": [{"id": unique("free")}]}, scenario)


def test_tier_refusal_is_all_or_nothing_and_consumes_nothing(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        first = await limiter.admit(who, msg(tokens=25_000, max_out=100))
        assert first.headers()["anthropic-ratelimit-input-tokens-remaining"] == "5000"
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=10_000, max_out=100))
        error = refused.value
        assert "of 30,000 input tokens per minute" in error.message
        assert error.openai_type == "tokens"
        assert error.headers["retry-after"] == "10"  # 5,000 missing at 500 tokens per second
        assert error.headers["anthropic-ratelimit-requests-remaining"] == "49"
        assert "x-should-retry" not in error.headers
        second = await limiter.admit(who, msg(tokens=5_000, max_out=100))
        headers = second.headers()
        assert headers["anthropic-ratelimit-requests-remaining"] == "48"  # not 47
        assert headers["anthropic-ratelimit-input-tokens-remaining"] == "0"

    run(store_uri, tier_tenant("t1", "tier-1", "v2025"), scenario)


def test_v2025_reserves_max_tokens_and_refunds_at_settlement(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        big = await limiter.admit(who, msg(tokens=10, max_out=8_000))
        assert big.headers()["anthropic-ratelimit-output-tokens-remaining"] == "0"
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=10, max_out=500))
        assert "8,000 output tokens per minute" in refused.value.message
        assert await limiter.settle(big, Usage(input_tokens=10, output_tokens=100))
        after = await limiter.admit(who, msg(tokens=10, max_out=500))
        assert after.headers()["anthropic-ratelimit-output-tokens-remaining"] == "7000"  # 7400

    run(store_uri, tier_tenant("t1", "tier-1", "v2025"), scenario)


def test_v2026_debits_output_as_produced(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        first = await limiter.admit(who, msg(tokens=10, max_out=1_000_000))
        assert first.headers()["anthropic-ratelimit-output-tokens-remaining"] == "400000"
        await limiter.settle(first, Usage(input_tokens=10, output_tokens=460_000))
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=10, max_out=10))
        assert "400,000 output tokens per minute" in refused.value.message
        assert refused.value.headers["retry-after"] == "10"  # 60,001 tokens at 6,666.7/s
        clock.advance(10)
        await limiter.admit(who, msg(tokens=10, max_out=10))

    run(store_uri, tier_tenant("s", "start", "v2026"), scenario)


def test_count_tokens_has_its_own_request_bucket(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        for _ in range(50):
            await limiter.admit(who, msg(tokens=1))
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=1))
        assert refused.value.openai_type == "requests"
        assert "of 50 requests per minute" in refused.value.message
        counted = await limiter.admit(who, msg(tokens=1, endpoint="count_tokens"))
        assert counted.headers()["anthropic-ratelimit-requests-limit"] == "100"
        assert counted.headers()["anthropic-ratelimit-requests-remaining"] == "99"

    run(store_uri, tier_tenant("t1", "tier-1", "v2025"), scenario)


def test_workspace_and_organization_are_both_checked(store_uri: str) -> None:
    org = unique("acme")
    ws_a, ws_b = unique("ws-a"), unique("ws-b")

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        a, b = tenant(settings, 0), tenant(settings, 1)
        first = await limiter.admit(a, msg(tokens=8_000))
        assert first.headers()["anthropic-ratelimit-input-tokens-limit"] == "10000"
        assert first.headers()["anthropic-ratelimit-tokens-limit"] == "10000"
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(a, msg(tokens=5_000))
        assert "for your workspace" in refused.value.message
        other = await limiter.admit(b, msg(tokens=20_000))
        headers = other.headers()
        assert headers["anthropic-ratelimit-input-tokens-limit"] == "30000"
        assert headers["anthropic-ratelimit-input-tokens-remaining"] == "2000"  # org shared
        with pytest.raises(RateLimited) as org_refused:
            await limiter.admit(b, msg(tokens=5_000))
        assert "for your organization" in org_refused.value.message

    data = {
        "tenants": [{"id": ws_a, "tier": "tier-1"}, {"id": ws_b, "tier": "tier-1"}],
        "limits": {
            "profile": "v2025",
            "workspaces": {
                ws_a: {"organization": org, "default": {"itpm": 10_000}},
                ws_b: {"organization": org},
            },
        },
    }
    run(store_uri, data, scenario)


def test_chat_endpoint_gets_openai_headers_and_messages(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        first = await limiter.admit(who, msg(tokens=29_000, endpoint="chat", model="gpt-sim"))
        headers = first.headers("openai")
        assert headers["x-ratelimit-limit-tokens"] == "38000"
        assert headers["x-ratelimit-remaining-tokens"] == "9000"
        assert headers["x-ratelimit-reset-tokens"] == "58s"
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=2_000, endpoint="chat", model="gpt-sim"))
        error = refused.value
        assert error.openai_message.startswith("Rate limit reached for gpt-sim in organization ")
        assert "Limit 30000, Used 29000, Requested 2000. Please try again in 2s." in (
            error.openai_message
        )
        assert error.headers["x-ratelimit-remaining-tokens"] == "9000"
        assert error.headers["retry-after"] == "2"

    run(store_uri, tier_tenant("t1", "tier-1", "v2025"), scenario)


def test_settlement_happens_exactly_once_with_partial_usage(store_uri: str) -> None:
    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        admission = await limiter.admit(who, msg(tokens=1_000, max_out=8_000))
        assert await limiter.settle(admission, Usage(input_tokens=1_000, output_tokens=300))
        assert not await limiter.settle(admission, Usage(input_tokens=1_000, output_tokens=0))
        report = await limiter.usage_report(who)
        otpm = next(v for k, v in report.items() if k.endswith("sonnet:otpm"))
        assert otpm["remaining"] == 7_700

    run(store_uri, tier_tenant("t1", "tier-1", "v2025"), scenario)


# --------------------------------------------------------------------------- plans


def plan_data(name: str, **plan: Any) -> dict[str, Any]:
    body = {"five_hour": 1000.0, "seven_day": 5000.0, **plan}
    weights = {"sonnet": {"input": 1.0, "output": 1.0, "cache_write": 1.0, "cache_read": 0.0}}
    return {
        "tenants": [{"id": plan_user(), "plan": name}],
        "limits": {"profile": "v2026", "plans": {name: body}, "weights": weights},
    }


def test_plan_session_window_refuses_with_unified_headers(store_uri: str) -> None:
    name = unique("plan")

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        first = await limiter.admit(who, msg(tokens=850))
        headers = first.headers()
        assert headers["anthropic-ratelimit-unified-status"] == "allowed_warning"
        assert headers["anthropic-ratelimit-unified-5h-utilization"] == "0.85"
        assert headers["anthropic-ratelimit-unified-5h-reset"] == str(int(MONDAY_NOON) + 18000)
        await limiter.settle(first, Usage(input_tokens=850, output_tokens=200))
        clock.advance(3600)
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=10))
        error = refused.value
        assert error.message == "You've hit your session limit · resets 1pm (UTC)"
        assert error.headers["anthropic-ratelimit-unified-status"] == "rejected"
        assert error.headers["anthropic-ratelimit-unified-representative-claim"] == "five_hour"
        assert error.headers["retry-after"] == str(4 * 3600)
        assert error.headers["x-should-retry"] == "false"
        report = await limiter.usage_report(who)
        assert report["five_hour"] == {"utilization": 100.0, "resets_at": "2025-12-01T13:00:00Z"}
        assert report["seven_day"]["utilization"] == 21.0
        assert report["extra_usage"] == {"is_enabled": False}
        clock.advance(4 * 3600)
        await limiter.admit(who, msg(tokens=10))

    run(store_uri, plan_data(name), scenario)


def test_live_multiplier_applies_to_the_next_request(store_uri: str) -> None:
    name = unique("plan")

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        await limiter.admit(who, msg(tokens=1000))
        with pytest.raises(RateLimited):
            await limiter.admit(who, msg(tokens=500))
        await limiter.set_multiplier(name, "five_hour", 2)
        assert (await limiter.get_multipliers())[f"{name}:five_hour"] == 2.0
        after = await limiter.admit(who, msg(tokens=500))
        assert after.headers()["anthropic-ratelimit-unified-5h-utilization"] == "0.75"
        with pytest.raises(InvalidRequest):
            await limiter.set_multiplier(name, "one_hour", 2)
        with pytest.raises(InvalidRequest):
            await limiter.set_multiplier(name, "five_hour", 0)
        with pytest.raises(InvalidRequest):
            await limiter.set_multiplier("no-such-plan", "five_hour", 2)
        await limiter.set_multiplier(name, "five_hour", 1)
        assert f"{name}:five_hour" not in await limiter.get_multipliers()

    run(store_uri, plan_data(name), scenario)


def test_extra_usage_takes_over_until_the_monthly_cap(store_uri: str) -> None:
    name = unique("plan")

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        await limiter.admit(who, msg(tokens=1000))
        extra = await limiter.admit(who, msg(tokens=250))
        headers = extra.headers()
        assert headers["anthropic-ratelimit-unified-overage-in-use"] == "true"
        assert headers["anthropic-ratelimit-unified-overage-status"] == "allowed"
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(tokens=100))
        assert refused.value.headers["anthropic-ratelimit-unified-overage-status"] == "rejected"
        assert (
            refused.value.headers["anthropic-ratelimit-unified-overage-disabled-reason"]
            == "out_of_credits"
        )
        report = await limiter.usage_report(who)
        assert report["extra_usage"]["used_credits"] == 250.0
        assert report["extra_usage"]["is_enabled"] is True

    run(store_uri, plan_data(name, extra_usage_monthly_units=300.0), scenario)


def test_family_weekly_sub_limit_applies_only_to_that_family(store_uri: str) -> None:
    name = unique("plan")

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        for _ in range(5):
            await limiter.admit(who, msg(family="sonnet", tokens=100))
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(who, msg(family="sonnet", tokens=100))
        assert (
            refused.value.headers["anthropic-ratelimit-unified-representative-claim"]
            == "seven_day_sonnet"
        )
        assert refused.value.message.startswith("You've hit your Sonnet limit · resets ")
        await limiter.admit(who, msg(family="opus", tokens=100))

    run(store_uri, plan_data(name, family_weekly={"sonnet": 0.1}), scenario)


def test_peak_hours_consume_the_session_faster(store_uri: str) -> None:
    name = unique("plan")
    peak_monday = 1764590400.0 + 2 * 3600  # 2025-12-01T14:00Z = 06:00 PST

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        inside = await limiter.admit(who, msg(tokens=100))
        assert inside.headers()["anthropic-ratelimit-unified-5h-utilization"] == "0.2"
        assert inside.headers()["anthropic-ratelimit-unified-7d-utilization"] == "0.02"
        clock.advance(6 * 3600)  # 12:00 PST: off-peak, new session
        outside = await limiter.admit(who, msg(tokens=100))
        assert outside.headers()["anthropic-ratelimit-unified-5h-utilization"] == "0.1"

    run(store_uri, plan_data(name, peak_metering=True), scenario, start=peak_monday)


def test_shadow_rules_report_but_never_refuse(store_uri: str) -> None:
    name = unique("plan")
    data = plan_data(name)
    data["limits"]["shadow"] = ["five_hour"]

    async def scenario(limiter: GuardedLimiter, settings: Settings, clock: ManualClock) -> None:
        who = tenant(settings)
        await limiter.admit(who, msg(tokens=1000))
        again = await limiter.admit(who, msg(tokens=1000))
        assert again.decision is not None and again.decision.shadow_refused == (0,)

    run(store_uri, data, scenario)


# --------------------------------------------------------------------------- one limiter


def test_the_simulators_calls_decide_as_the_gateways() -> None:
    """`Limiter.admit`/`settle` on a `MemoryStore` (what the simulator calls, on virtual time)
    and the `GuardedLimiter` over ``memory://`` (what the gateway calls) answer alike."""
    settings = settings_from_mapping(tier_tenant("both", "tier-1", "v2025"))
    account = tenant(settings)
    clock = ManualClock(MONDAY_NOON)
    limiter = Limiter(settings.limits, settings.tenants)
    store = MemoryStore()
    who = limiter.limits_of(account.id, account.plan, account.tier)
    requests = [msg(tokens=12_000, max_out=1_000) for _ in range(4)]

    async def gateway() -> list[tuple[bool, dict[str, str]]]:
        guarded = GuardedLimiter(
            Limiter(settings.limits, settings.tenants), AsyncMemoryStore(), clock
        )
        answers = []
        for request in requests:
            try:
                admission = await guarded.admit(account, request)
            except RateLimited as refusal:
                answers.append((False, refusal.headers))
                continue
            answers.append((True, admission.headers()))
            assert await guarded.settle(admission, Usage(10_000, 200))
        return answers

    simulated = []
    for request in requests:
        outcome = limiter.admit(who, request, clock.now(), store)
        if isinstance(outcome, Refusal):
            simulated.append((False, outcome.error().headers))
            continue
        simulated.append((True, outcome.headers()))
        assert limiter.settle(outcome, Usage(10_000, 200), clock.now(), store)
        assert not limiter.settle(outcome, Usage(10_000, 200), clock.now(), store)
    assert simulated == asyncio.run(gateway())
    assert [admitted for admitted, _ in simulated] == [True, True, False, False]
