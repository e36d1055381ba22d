"""Rate-limit response headers (pure): Anthropic, OpenAI and Anthropic "unified" (plans).

- Anthropic tiers: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
  {limit,remaining,reset}``; resets are RFC 3339 UTC times of full replenishment; token
  remainders are rounded to the nearest thousand. Each dimension reports its most restrictive
  bucket (workspace or organization); ``tokens-*`` is that most restrictive token bucket when a
  workspace limit applies, otherwise the sum of input and output.
- OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` with Go-duration resets
  (``6m0s``, ``1.5s``, ``12ms``); tokens are input plus output.
- Plans: ``anthropic-ratelimit-unified-*`` (status, per-window status/utilization/reset as epoch
  seconds, representative claim, overage).
- Refusals add ``retry-after`` (integer seconds) and ``x-should-retry: false`` when the wait
  exceeds a minute (the SDKs would otherwise retry after a short backoff).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from fleetgate.limits.rules import Decision, Rule, RuleStatus

SHOULD_RETRY_MAX_WAIT = 60.0
"""Longest wait (seconds) after which the SDKs would still honour `retry-after`."""

UNIFIED_PREFIX = "anthropic-ratelimit-unified-"


def rfc3339(when: float) -> str:
    """``2025-01-15T14:24:00Z``: the UTC time, rounded up to the whole second."""
    moment = datetime.fromtimestamp(math.ceil(when), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def round_thousand(tokens: float) -> int:
    """Tokens rounded to the nearest thousand (halves up), never below zero."""
    return max(0, math.floor(tokens / 1000.0 + 0.5) * 1000)


def whole(value: float) -> int:
    """A count rounded down, never below zero."""
    return max(0, math.floor(value))


def go_duration(seconds: float) -> str:
    """A Go `time.Duration` string, to the millisecond: ``12ms``, ``1.5s``, ``6m0s``."""
    millis = max(0, math.ceil(seconds * 1000 - 1e-3))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, frac = divmod(rest, 1000)
    text = f"{secs}.{frac:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def retry_after_seconds(wait: float) -> int:
    """The integer `retry-after` for a finite wait: rounded up, at least one second."""
    return max(1, math.ceil(wait))


def refusal_headers(wait: float) -> dict[str, str]:
    """`retry-after` (when the wait is finite) and `x-should-retry: false` past a minute."""
    headers: dict[str, str] = {}
    if math.isfinite(wait):
        headers["retry-after"] = str(retry_after_seconds(wait))
    if not math.isfinite(wait) or wait > SHOULD_RETRY_MAX_WAIT:
        headers["x-should-retry"] = "false"
    return headers


def _most_restrictive(
    pairs: Sequence[tuple[Rule, RuleStatus]],
) -> tuple[Rule, RuleStatus] | None:
    if not pairs:
        return None
    return min(pairs, key=lambda p: (p[1].remaining, p[1].limit))


def _reset(status: RuleStatus, now: float) -> float:
    return status.reset_at if status.reset_at is not None else now


def anthropic_headers(
    rules: Sequence[Rule], statuses: Sequence[RuleStatus], now: float
) -> dict[str, str]:
    """The `anthropic-ratelimit-*` headers for tier buckets."""
    pairs = [(r, s) for r, s in zip(rules, statuses, strict=True) if r.kind == "bucket"]
    headers: dict[str, str] = {}
    chosen = {}
    for dimension, prefix in (
        ("requests", "requests"),
        ("input_tokens", "input-tokens"),
        ("output_tokens", "output-tokens"),
    ):
        pick = _most_restrictive([p for p in pairs if p[0].dimension == dimension])
        if pick is None:
            continue
        chosen[dimension] = pick
        rule, status = pick
        rounder = whole if dimension == "requests" else round_thousand
        headers[f"anthropic-ratelimit-{prefix}-limit"] = str(int(rule.limit))
        headers[f"anthropic-ratelimit-{prefix}-remaining"] = str(rounder(status.remaining))
        headers[f"anthropic-ratelimit-{prefix}-reset"] = rfc3339(_reset(status, now))
    token_pairs = [p for p in pairs if p[0].dimension in {"input_tokens", "output_tokens"}]
    if any(rule.scope == "workspace" for rule, _ in token_pairs):
        pick = _most_restrictive(token_pairs)
        assert pick is not None
        limit, remaining, reset = pick[0].limit, pick[1].remaining, _reset(pick[1], now)
    elif "input_tokens" in chosen and "output_tokens" in chosen:
        (ri, si), (ro, so) = chosen["input_tokens"], chosen["output_tokens"]
        limit = ri.limit + ro.limit
        remaining = max(0.0, si.remaining) + max(0.0, so.remaining)
        reset = max(_reset(si, now), _reset(so, now))
    else:
        return headers
    headers["anthropic-ratelimit-tokens-limit"] = str(int(limit))
    headers["anthropic-ratelimit-tokens-remaining"] = str(round_thousand(remaining))
    headers["anthropic-ratelimit-tokens-reset"] = rfc3339(reset)
    return headers


def openai_headers(
    rules: Sequence[Rule], statuses: Sequence[RuleStatus], now: float
) -> dict[str, str]:
    """The `x-ratelimit-*` headers: requests, and tokens as input plus output."""
    pairs = [(r, s) for r, s in zip(rules, statuses, strict=True) if r.kind == "bucket"]
    headers: dict[str, str] = {}
    requests = _most_restrictive([p for p in pairs if p[0].dimension == "requests"])
    if requests is not None:
        rule, status = requests
        headers["x-ratelimit-limit-requests"] = str(int(rule.limit))
        headers["x-ratelimit-remaining-requests"] = str(whole(status.remaining))
        headers["x-ratelimit-reset-requests"] = go_duration(_reset(status, now) - now)
    tokens = [
        pick
        for dimension in ("input_tokens", "output_tokens")
        if (pick := _most_restrictive([p for p in pairs if p[0].dimension == dimension]))
    ]
    if tokens:
        headers["x-ratelimit-limit-tokens"] = str(int(sum(r.limit for r, _ in tokens)))
        remaining = sum(max(0.0, s.remaining) for _, s in tokens)
        headers["x-ratelimit-remaining-tokens"] = str(whole(remaining))
        reset = max(_reset(s, now) for _, s in tokens)
        headers["x-ratelimit-reset-tokens"] = go_duration(reset - now)
    return headers


def claim_of(rule: Rule) -> str:
    """The representative-claim name of a plan rule."""
    return rule.name


def _header_window(rule: Rule) -> str:
    if rule.name == "five_hour":
        return "5h"
    if rule.name == "seven_day":
        return "7d"
    if rule.name.startswith("seven_day_"):
        return "7d-" + rule.name.removeprefix("seven_day_")
    return rule.name


def _utilization(value: float) -> str:
    return repr(round(min(1.0, max(0.0, value)), 4))


def window_status(status: RuleStatus, refused: bool, warning: float) -> str:
    """``rejected`` / ``allowed_warning`` / ``allowed`` for one window."""
    if refused or status.utilization >= 1.0:
        return "rejected"
    if status.utilization >= warning:
        return "allowed_warning"
    return "allowed"


def unified_headers(rules: Sequence[Rule], decision: Decision, warning: float) -> dict[str, str]:
    """The `anthropic-ratelimit-unified-*` headers of a plan decision."""
    headers: dict[str, str] = {}
    blocking = set(decision.blocking)
    windows = [i for i, r in enumerate(rules) if r.kind != "bucket" and not r.overage]
    if not windows:
        return headers
    any_warning = False
    for i in windows:
        rule, status = rules[i], decision.statuses[i]
        state = window_status(status, i in blocking, warning)
        any_warning = any_warning or state != "allowed"
        name = _header_window(rule)
        headers[f"{UNIFIED_PREFIX}{name}-status"] = state
        headers[f"{UNIFIED_PREFIX}{name}-utilization"] = _utilization(status.utilization)
        if status.reset_at is not None:
            headers[f"{UNIFIED_PREFIX}{name}-reset"] = str(math.ceil(status.reset_at))
    if decision.blocking:
        representative = max(decision.blocking, key=lambda i: decision.statuses[i].wait)
    else:
        representative = max(windows, key=lambda i: decision.statuses[i].utilization)
    if not decision.admitted:
        overall = "rejected"
    else:
        overall = "allowed_warning" if any_warning else "allowed"
    headers[f"{UNIFIED_PREFIX}status"] = overall
    headers[f"{UNIFIED_PREFIX}representative-claim"] = claim_of(rules[representative])
    reset = decision.statuses[representative].reset_at
    if reset is not None:
        headers[f"{UNIFIED_PREFIX}reset"] = str(math.ceil(reset))
    headers.update(_overage_headers(rules, decision))
    return headers


def _overage_headers(rules: Sequence[Rule], decision: Decision) -> dict[str, str]:
    headers: dict[str, str] = {}
    for i, rule in enumerate(rules):
        if not rule.overage:
            continue
        status = decision.statuses[i]
        exhausted = not status.fits
        headers[f"{UNIFIED_PREFIX}overage-status"] = "rejected" if exhausted else "allowed"
        headers[f"{UNIFIED_PREFIX}overage-in-use"] = "true" if decision.overage_in_use else "false"
        headers[f"{UNIFIED_PREFIX}overage-utilization"] = _utilization(status.utilization)
        if status.reset_at is not None:
            headers[f"{UNIFIED_PREFIX}overage-reset"] = str(math.ceil(status.reset_at))
        if exhausted:
            headers[f"{UNIFIED_PREFIX}overage-disabled-reason"] = "out_of_credits"
    return headers
