"""Validation of Anthropic Messages API request bodies (`/v1/messages` and `count_tokens`).

Checks what the real API checks, with its error wording (``messages.1.content.0.type: Field
required``) and the dotted path as `param`, and accepts everything the real API accepts: unknown
top-level fields are kept, unknown content block types and server tools with a string ``type`` pass
(forward compatible), ``null`` counts as absent for optional fields. The body is never rewritten.
Content blocks and tool definitions are checked in `fleetgate.api.schema_anthropic_blocks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetgate.api import schema_anthropic_blocks as blocks
from fleetgate.api.schema_anthropic_fields import (
    array,
    boolean,
    fail,
    integer,
    join,
    literal,
    mapping,
    number,
    optional,
    required,
    string,
    tag,
)

MAX_MESSAGES = 100_000
MIN_THINKING_BUDGET = 1024


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """A validated Messages request: the untouched body plus the fields the gateway acts on."""

    body: dict[str, Any]
    model: str
    max_tokens: int
    """0 for a count_tokens request that gives none."""
    stream: bool
    has_tools: bool


def validate_messages(body: dict[str, Any], *, count_tokens: bool = False) -> MessagesRequest:
    """Validate a Messages (or count_tokens) body; raise `InvalidRequest` naming the first fault."""
    model = string(required(body, "model", ""), "model")
    if not model:
        fail("model", "String should have at least 1 character")
    max_tokens = _max_tokens(body, count_tokens=count_tokens)
    messages = array(required(body, "messages", ""), "messages")
    if not messages:
        fail("messages", "at least one message is required")
    if len(messages) > MAX_MESSAGES:
        fail(
            "messages",
            f"List should have at most {MAX_MESSAGES} items after validation, not {len(messages)}",
        )
    for index, message in enumerate(messages):
        blocks.check_message(message, index, is_last=index == len(messages) - 1)
    optional(body, "system", blocks.check_system)
    tools = optional(body, "tools", blocks.check_tools) or []
    optional(body, "tool_choice", blocks.check_tool_choice)
    _check_sampling(body)
    stream = bool(optional(body, "stream", boolean))
    optional(body, "metadata", _check_metadata)
    optional(body, "service_tier", lambda v, p: literal(v, p, ("auto", "standard_only")))
    optional(body, "thinking", _check_thinking)
    _check_thinking_rules(body, max_tokens)
    _check_loose_fields(body)
    return MessagesRequest(
        body=body, model=model, max_tokens=max_tokens, stream=stream, has_tools=bool(tools)
    )


def _max_tokens(body: dict[str, Any], *, count_tokens: bool) -> int:
    value = body.get("max_tokens")
    if value is None:
        if count_tokens:
            return 0
        fail("max_tokens", "Field required")
    max_tokens = integer(value, "max_tokens")
    if max_tokens < 1:
        fail("max_tokens", "Input should be greater than or equal to 1")
    return max_tokens


def _check_sampling(body: dict[str, Any]) -> None:
    optional(body, "temperature", lambda v, p: number(v, p, 0.0, 1.0))
    optional(body, "top_p", lambda v, p: number(v, p, 0.0, 1.0))
    top_k = optional(body, "top_k", integer)
    if top_k is not None and top_k < 0:
        fail("top_k", "Input should be greater than or equal to 0")
    sequences = optional(body, "stop_sequences", array) or []
    for index, sequence in enumerate(sequences):
        string(sequence, join("stop_sequences", index))


def _check_metadata(value: Any, path: str) -> None:
    metadata = mapping(value, path)
    user_id = metadata.get("user_id")
    if user_id is not None:
        string(user_id, join(path, "user_id"))


def _check_thinking(value: Any, path: str) -> None:
    thinking = mapping(value, path)
    kind = tag(thinking, path, ("enabled", "disabled", "adaptive"))
    if kind == "enabled":
        budget_path = join(join(path, kind), "budget_tokens")
        budget = integer(required(thinking, "budget_tokens", join(path, kind)), budget_path)
        if budget < MIN_THINKING_BUDGET:
            fail(budget_path, f"Input should be greater than or equal to {MIN_THINKING_BUDGET}")


def _check_thinking_rules(body: dict[str, Any], max_tokens: int) -> None:
    """The cross-field rules of extended thinking with a fixed budget (documented by Anthropic)."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = int(thinking["budget_tokens"])
    if max_tokens and max_tokens <= budget:
        fail(
            "",
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
            "documentation at https://docs.claude.com/en/docs/build-with-claude/"
            "extended-thinking#max-tokens-and-context-window-size",
        )
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        fail("", "`temperature` may only be set to 1 when thinking is enabled.")
    if body.get("top_k") is not None:
        fail("", "`top_k` must be unset when thinking is enabled.")
    top_p = body.get("top_p")
    if top_p is not None and top_p < 0.95:
        fail("", "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        fail("", "Thinking may not be enabled when tool_choice forces tool use.")


def _check_loose_fields(body: dict[str, Any]) -> None:
    """Newer fields: only their JSON type is checked, their contents are the upstream's business."""
    optional(body, "context_management", mapping)
    container = body.get("container")
    if container is not None and not isinstance(container, str | dict):
        fail("container", "Input should be a valid string")
    for index, server in enumerate(optional(body, "mcp_servers", array) or []):
        mapping(server, join("mcp_servers", index))
    for index, beta in enumerate(optional(body, "betas", array) or []):
        string(beta, join("betas", index))
