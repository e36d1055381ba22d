"""Header and message rendering: exact names, RFC 3339, rounding, Go durations, 429 texts."""

from __future__ import annotations

import math

import pytest
from limits_rules import bucket_rule, session_rule, weekly_rule

from fleetgate.limits import core, headers, messages
from fleetgate.limits.rules import Costs, Rule


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (0.012, "12ms"),
        (0.0841, "85ms"),
        (1.0, "1s"),
        (1.5, "1.5s"),
        (17.28, "17.28s"),
        (360.0, "6m0s"),
        (3723.0, "1h2m3s"),
        (3600.0, "1h0m0s"),
        (1.2000000000000002, "1.2s"),
    ],
)
def test_go_durations(seconds: float, text: str) -> None:
    assert headers.go_duration(seconds) == text


def test_rfc3339_is_utc_whole_seconds_rounded_up() -> None:
    assert headers.rfc3339(1736950992.0) == "2025-01-15T14:23:12Z"
    assert headers.rfc3339(1736950992.2) == "2025-01-15T14:23:13Z"


@pytest.mark.parametrize(
    ("tokens", "rounded"), [(0, 0), (499, 0), (500, 1000), (312_400, 312_000), (-50, 0)]
)
def test_token_remainders_round_to_the_nearest_thousand(tokens: float, rounded: int) -> None:
    assert headers.round_thousand(tokens) == rounded


def test_refusal_headers_stop_sdk_retries_past_a_minute() -> None:
    assert headers.refusal_headers(10.2) == {"retry-after": "11"}
    assert headers.refusal_headers(0.01) == {"retry-after": "1"}
    assert headers.refusal_headers(2094.0) == {"retry-after": "2094", "x-should-retry": "false"}
    assert headers.refusal_headers(math.inf) == {"x-should-retry": "false"}


def bucket(rule_id: str, name: str, dimension: str, per_minute: float, scope: str) -> Rule:
    return bucket_rule(per_minute, rule_id=rule_id, name=name, dimension=dimension, scope=scope)


ORG = [
    bucket("org:rpm", "requests", "requests", 4000, "organization"),
    bucket("org:itpm", "input_tokens", "input_tokens", 2_000_000, "organization"),
    bucket("org:otpm", "output_tokens", "output_tokens", 400_000, "organization"),
]


def test_anthropic_headers_have_the_exact_names_and_sum_tokens_without_workspace() -> None:
    decision = core.decide(ORG, {}, {}, Costs(1, 12_345, 4_000), 1736950980.0)
    result = headers.anthropic_headers(ORG, decision.statuses, decision.now)
    assert set(result) == {
        f"anthropic-ratelimit-{kind}-{field}"
        for kind in ("requests", "tokens", "input-tokens", "output-tokens")
        for field in ("limit", "remaining", "reset")
    }
    assert result["anthropic-ratelimit-requests-limit"] == "4000"
    assert result["anthropic-ratelimit-requests-remaining"] == "3999"
    assert result["anthropic-ratelimit-input-tokens-remaining"] == "1988000"
    assert result["anthropic-ratelimit-output-tokens-remaining"] == "396000"
    assert result["anthropic-ratelimit-tokens-limit"] == "2400000"
    assert result["anthropic-ratelimit-tokens-remaining"] == "2384000"
    # full replenishment: 4000 output tokens at 400000/60 per second = 0.6 s -> rounded up
    assert result["anthropic-ratelimit-output-tokens-reset"] == "2025-01-15T14:23:01Z"
    assert result["anthropic-ratelimit-requests-reset"] == "2025-01-15T14:23:01Z"


def test_anthropic_headers_report_the_most_restrictive_scope() -> None:
    rules = [*ORG, bucket("ws:itpm", "input_tokens", "input_tokens", 30_000, "workspace")]
    decision = core.decide(rules, {}, {}, Costs(1, 10_000, 100), 0.0)
    result = headers.anthropic_headers(rules, decision.statuses, decision.now)
    assert result["anthropic-ratelimit-input-tokens-limit"] == "30000"
    assert result["anthropic-ratelimit-input-tokens-remaining"] == "20000"
    assert result["anthropic-ratelimit-tokens-limit"] == "30000"
    assert result["anthropic-ratelimit-tokens-remaining"] == "20000"


def test_openai_headers_use_go_durations_to_full() -> None:
    decision = core.decide(ORG, {}, {}, Costs(1, 30_000, 10_000), 0.0)
    result = headers.openai_headers(ORG, decision.statuses, decision.now)
    assert result == {
        "x-ratelimit-limit-requests": "4000",
        "x-ratelimit-remaining-requests": "3999",
        "x-ratelimit-reset-requests": "15ms",
        "x-ratelimit-limit-tokens": "2400000",
        "x-ratelimit-remaining-tokens": "2360000",
        "x-ratelimit-reset-tokens": "1.5s",
    }


def plan_rules() -> list[Rule]:
    return [session_rule(100.0), weekly_rule(1000.0)]


def test_unified_headers_warn_and_reject() -> None:
    rules = plan_rules()
    first = core.decide(rules, {}, {}, Costs(units=85.0), 3600.0)
    result = headers.unified_headers(rules, first, 0.8)
    assert result["anthropic-ratelimit-unified-status"] == "allowed_warning"
    assert result["anthropic-ratelimit-unified-5h-status"] == "allowed_warning"
    assert result["anthropic-ratelimit-unified-5h-utilization"] == "0.85"
    assert result["anthropic-ratelimit-unified-5h-reset"] == str(3600 + 18000)
    assert result["anthropic-ratelimit-unified-7d-status"] == "allowed"
    assert result["anthropic-ratelimit-unified-7d-reset"] == "604800"
    assert result["anthropic-ratelimit-unified-representative-claim"] == "five_hour"
    refused = core.decide(rules, first.updates, {}, Costs(units=20.0), 3700.0)
    result = headers.unified_headers(rules, refused, 0.8)
    assert result["anthropic-ratelimit-unified-status"] == "rejected"
    assert result["anthropic-ratelimit-unified-5h-status"] == "rejected"
    assert result["anthropic-ratelimit-unified-reset"] == str(3600 + 18000)


def test_anthropic_tier_message_is_the_documented_text() -> None:
    rule = bucket("org:itpm", "input_tokens", "input_tokens", 50_000, "organization")
    text = messages.anthropic_tier_message(rule, "acme")
    uuid = messages.organization_uuid("acme")
    assert text == (
        f"This request would exceed the rate limit for your organization ({uuid}) of 50,000 "
        "input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."
        " You can see the response headers for current usage. Please reduce the prompt length or "
        "the maximum tokens requested, or try again later. You may also contact sales at "
        "https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase."
    )
    assert uuid == messages.organization_uuid("acme") != messages.organization_uuid("other")


def test_openai_messages_for_reached_and_too_large() -> None:
    rule = bucket("org:itpm", "input_tokens", "input_tokens", 200_000, "organization")
    decision = core.decide(
        [rule], {"org:itpm:level": 4131.0, "org:itpm:ts": 0.0}, {}, Costs(input_tokens=4412), 0.0
    )
    status = decision.statuses[0]
    text = messages.openai_message(rule, status, 4412, "gpt-4o-mini", "org-x")
    assert text == (
        "Rate limit reached for gpt-4o-mini in organization org-x on tokens per min (TPM): "
        "Limit 200000, Used 195869, Requested 4412. Please try again in 85ms. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    huge = core.decide([rule], {}, {}, Costs(input_tokens=300_000), 0.0).statuses[0]
    assert messages.openai_message(rule, huge, 300_000, "m", "o").startswith(
        "Request too large for m in organization o on tokens per min (TPM): Limit 200000, "
        "Requested 300000."
    )


def test_plan_messages_name_the_window_and_reset() -> None:
    rules = plan_rules()
    first = core.decide(rules, {}, {}, Costs(units=100.0), 1764000000.0 - 3 * 3600)
    refused = core.decide(rules, first.updates, {}, Costs(units=1.0), 1764000000.0)
    text = messages.plan_message(rules[0], refused.statuses[0])
    assert text == "You've hit your session limit · resets 6pm (UTC)"
    assert messages.clock_text(1764000000.0 + 45 * 60, with_day=True) == "Mon 4:45pm"
