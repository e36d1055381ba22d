"""What the simulated engine answers: deterministic filler text or one tool call, cut into tokens.

`plan_output` decides everything about an answer before the first step runs: how many tokens,
the text of each (stop strings already applied), the finish reason, and the tool call if any.
The same prompt always gives the same answer. Pure: no I/O, no clock, no global randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from fleetgate.engine.chat_request import EngineChatRequest, ToolSpec
from fleetgate.errors import InvalidRequest
from fleetgate.tokens import filler_token, split_tokens


@dataclass(frozen=True, slots=True)
class PlannedToolCall:
    """The one function call an answer makes."""

    name: str
    arguments: str
    """The complete arguments JSON; the answer's pieces are its tokens."""


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """A whole answer, one piece of text per output token."""

    pieces: tuple[str, ...]
    """Content text (or tool-call argument fragments) each token adds; may be empty after a stop."""
    finish_reason: str
    tool_call: PlannedToolCall | None = None

    @property
    def length(self) -> int:
        """Output tokens the answer takes."""
        return len(self.pieces)

    def text(self, produced: int) -> str:
        """The text of the first `produced` tokens."""
        return "".join(self.pieces[:produced])


def prompt_seed(prompt: str) -> int:
    """A stable 64-bit seed from the prompt text (unlike `hash`, the same in every process)."""
    digest = hashlib.blake2b(prompt.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def resolve_max_tokens(
    request: EngineChatRequest, *, max_model_len: int, kv_capacity_tokens: int
) -> int:
    """The output limit of a request, or `InvalidRequest` when it can never be served.

    Without `max_tokens` the limit is whatever context is left, as in vLLM; the context is
    bounded by `max_model_len` and by the KV capacity (a sequence must fit it on its own).
    """
    prompt = request.prompt_tokens
    if request.max_tokens is None:
        context_limit = min(max_model_len, kv_capacity_tokens)
        available = context_limit - prompt
        if available < 1:
            raise InvalidRequest(
                f"This model's maximum context length is {context_limit} tokens. "
                f"However, your messages resulted in {prompt} tokens. "
                "Please reduce the length of the messages.",
                param="messages",
                code="context_length_exceeded",
            )
        return available
    wanted = prompt + request.max_tokens
    if wanted > max_model_len:
        raise InvalidRequest(
            f"This model's maximum context length is {max_model_len} tokens. "
            f"However, you requested {wanted} tokens ({prompt} in the messages, "
            f"{request.max_tokens} in the completion). "
            "Please reduce the length of the messages or completion.",
            param="max_tokens",
            code="context_length_exceeded",
        )
    if wanted > kv_capacity_tokens:
        raise InvalidRequest(
            f"The request needs {wanted} tokens of KV cache ({prompt} prompt + "
            f"{request.max_tokens} max_tokens) but this engine holds only "
            f"{kv_capacity_tokens}; it can never be scheduled.",
            param="max_tokens",
            code="context_length_exceeded",
        )
    return request.max_tokens


def plan_output(request: EngineChatRequest, *, max_tokens: int, output_tokens: int) -> OutputPlan:
    """The complete answer to `request`, given its resolved output limit `max_tokens` and the
    engine's usual answer length `output_tokens`."""
    seed = prompt_seed(request.prompt)
    tool = tool_to_call(request)
    if tool is not None:
        return _tool_call_plan(tool, seed, max_tokens)
    count = max_tokens if request.ignore_eos else min(max_tokens, output_tokens)
    tokens = [filler_token(index, seed) for index in range(count)]
    finish = "length" if count == max_tokens else "stop"
    if request.stop and not request.ignore_eos:
        stopped = _apply_stop(tokens, request.stop)
        if stopped is not None:
            return OutputPlan(pieces=stopped, finish_reason="stop")
    return OutputPlan(pieces=tuple(tokens), finish_reason=finish)


def tool_to_call(request: EngineChatRequest) -> ToolSpec | None:
    """The tool the answer calls, or None for a text answer."""
    if not request.tools or request.tool_choice == "none":
        return None
    if request.tool_choice.startswith("function:"):
        wanted = request.tool_choice.removeprefix("function:")
        return next(tool for tool in request.tools if tool.name == wanted)
    if request.tool_choice == "required" or request.marker_in_last_user_message:
        return request.tools[0]
    return None


def tool_arguments(parameters: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """A small arguments object filling the schema's required properties deterministically."""
    properties = parameters.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = parameters.get("required")
    names = (
        [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    )
    arguments: dict[str, Any] = {}
    for index, name in enumerate(names):
        schema = properties.get(name)
        arguments[name] = _value_for(schema if isinstance(schema, dict) else {}, seed, index)
    return arguments


def _value_for(schema: Mapping[str, Any], seed: int, index: int) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[(seed + index) % len(enum)]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    mix = (seed >> 8) + index
    values: dict[str, Any] = {
        "integer": mix % 100,
        "number": (mix % 1000) / 10,
        "boolean": mix % 2 == 0,
        "array": [],
        "object": {},
        "null": None,
    }
    if kind in values:
        return values[kind]
    return filler_token(index, seed).strip()


def _tool_call_plan(tool: ToolSpec, seed: int, max_tokens: int) -> OutputPlan:
    arguments = orjson.dumps(tool_arguments(tool.parameters, seed)).decode()
    pieces = split_tokens(arguments)
    finish = "tool_calls"
    if len(pieces) > max_tokens:
        pieces, finish = pieces[:max_tokens], "length"
    return OutputPlan(
        pieces=tuple(pieces),
        finish_reason=finish,
        tool_call=PlannedToolCall(name=tool.name, arguments="".join(pieces)),
    )


def _apply_stop(tokens: Sequence[str], stops: Sequence[str]) -> tuple[str, ...] | None:
    """Pieces cut at the first stop string, or None when no stop string appears."""
    longest = max(len(stop) for stop in stops)
    text = ""
    ends: list[int] = []
    for token in tokens:
        search_from = max(0, len(text) - longest + 1)
        text += token
        ends.append(len(text))
        hits = [at for stop in stops if (at := text.find(stop, search_from)) >= 0]
        if hits:
            cut = min(hits)
            starts = [0, *ends[:-1]]
            return tuple(text[min(s, cut) : min(e, cut)] for s, e in zip(starts, ends, strict=True))
    return None
