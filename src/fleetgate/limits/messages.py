"""The texts of 429 answers (pure): Anthropic tier and plan messages, OpenAI messages.

Anthropic tier refusals use the wording of the real API (stable 2024-2026)::

    This request would exceed the rate limit for your organization (<org uuid>) of 50,000
    input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.
    ...

The organization uuid is derived from the organization id (uuid5), so it is stable across
replicas and restarts. Plan refusals use the wording Claude Code shows ("You've hit your session
limit · resets 3:45pm (UTC)"). OpenAI refusals follow the OpenAI 429 bodies ("Rate limit reached
for <model> in organization <org> on tokens per min (TPM): Limit ..., Used ..., Requested ....
Please try again in 84ms. ...").
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

from fleetgate.limits.headers import go_duration
from fleetgate.limits.rules import Rule, RuleStatus

DOCS_URL = "https://docs.claude.com/en/api/rate-limits"
SALES_URL = "https://www.anthropic.com/contact-sales"
OPENAI_URL = "https://platform.openai.com/account/rate-limits"

_ANTHROPIC_UNIT = {
    "requests": "requests",
    "input_tokens": "input tokens",
    "output_tokens": "output tokens",
}
_OPENAI_UNIT = {
    "requests": "requests per min (RPM)",
    "input_tokens": "tokens per min (TPM)",
    "output_tokens": "tokens per min (TPM)",
}


def organization_uuid(organization: str) -> str:
    """A stable uuid for an organization id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fleetgate:organization:{organization}"))


def anthropic_tier_message(rule: Rule, organization: str, workspace: str | None = None) -> str:
    """The Anthropic 429 message for a refusing tier bucket."""
    who = (
        f"your workspace ({organization_uuid(workspace)})"
        if rule.scope == "workspace" and workspace is not None
        else f"your organization ({organization_uuid(organization)})"
    )
    unit = _ANTHROPIC_UNIT.get(rule.dimension, "requests")
    if rule.name == "count_tokens":
        unit = "token counting requests"
    return (
        f"This request would exceed the rate limit for {who} of {int(rule.limit):,} {unit} "
        f"per minute. For details, refer to: {DOCS_URL}. You can see the response headers for "
        "current usage. Please reduce the prompt length or the maximum tokens requested, or try "
        f"again later. You may also contact sales at {SALES_URL} to discuss your options for a "
        "rate limit increase."
    )


def clock_text(when: float, with_day: bool) -> str:
    """``3:45pm`` / ``3pm`` / ``Mon 12:00am`` in UTC, as Claude Code shows reset times."""
    moment = datetime.fromtimestamp(math.ceil(when), UTC)
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    if with_day:
        return f"{moment.strftime('%a')} {hour}:{moment.minute:02d}{suffix}"
    if moment.minute == 0:
        return f"{hour}{suffix}"
    return f"{hour}:{moment.minute:02d}{suffix}"


def plan_message(rule: Rule, status: RuleStatus) -> str:
    """The message of a plan refusal, naming the window and its reset time."""
    if rule.name == "five_hour":
        what, with_day = "session limit", False
    elif rule.name == "seven_day":
        what, with_day = "weekly limit", True
    elif rule.name.startswith("seven_day_"):
        family = rule.name.removeprefix("seven_day_")
        what, with_day = f"{family.capitalize()} limit", True
    else:
        what, with_day = "monthly spend limit", True
    if status.reset_at is None or not math.isfinite(status.wait):
        return f"You've hit your {what}. This request is larger than the whole {what}."
    return f"You've hit your {what} · resets {clock_text(status.reset_at, with_day)} (UTC)"


def openai_message(
    rule: Rule, status: RuleStatus, requested: float, model: str, organization: str
) -> str:
    """The OpenAI 429 message for a refusing bucket or plan window."""
    on = _OPENAI_UNIT.get(rule.dimension, "tokens per min (TPM)")
    if rule.kind != "bucket":
        on = f"the {rule.name} usage window"
    where = f"{model} in organization {organization}"
    if not math.isfinite(status.wait):
        return (
            f"Request too large for {where} on {on}: Limit {int(rule.limit)}, Requested "
            f"{math.ceil(requested)}. The input or output tokens must be reduced in order to run "
            "successfully."
        )
    used = max(0, math.ceil(status.used))
    return (
        f"Rate limit reached for {where} on {on}: Limit {int(rule.limit)}, Used {used}, "
        f"Requested {math.ceil(requested)}. Please try again in {go_duration(status.wait)}. "
        f"Visit {OPENAI_URL} to learn more."
    )
