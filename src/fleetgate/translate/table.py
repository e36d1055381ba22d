"""The (front door, backend protocol) matrix, written once: `TRANSLATIONS[(api, protocol)]`.

Each cell gives the three things a call needs from translation:

- `request`: the request for the backend (path, body, headers). Same protocol: the client's body
  goes through unchanged but for the model name (fields the gateway does not interpret reach
  Anthropic upstreams as sent). Different protocols: the body is translated. OpenAI upstreams are
  always asked for usage on streams so settlement is exact.
- `complete`: the whole upstream answer (a JSON object) in the front door's shape, and its usage.
- `stream`: a new `StreamConverter` for one streamed answer.

Pure like the rest of the core: the time an answer was made (OpenAI's `created`) comes in from the
caller's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from fleetgate.seams import Usage
from fleetgate.translate.ids import completion_id, message_id
from fleetgate.translate.passthrough import AnthropicPassthrough, OpenAIPassthrough
from fleetgate.translate.request_to_anthropic import openai_to_anthropic_request
from fleetgate.translate.request_to_openai import anthropic_to_openai_request
from fleetgate.translate.response import (
    anthropic_response_to_openai,
    openai_response_to_anthropic,
    usage_from_anthropic,
    usage_from_openai,
)
from fleetgate.translate.stream import StreamConverter
from fleetgate.translate.stream_to_anthropic import OpenAIToAnthropic
from fleetgate.translate.stream_to_openai import AnthropicToOpenAI

Api = Literal["anthropic", "openai"]
"""The two APIs fleetgate speaks: at its front door and to its backends."""

ANTHROPIC_VERSION = "2023-06-01"
FORWARDED_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")
"""Client headers passed on to Anthropic upstreams (`api.handler_support.client_headers` picks
them once per request; the request builders add them as given)."""


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """One request ready to send to a backend."""

    path: str
    body: bytes
    headers: dict[str, str]


RequestBuilder = Callable[[Mapping[str, Any], str, bool, Mapping[str, str]], UpstreamRequest]
"""(client body, served model, stream, the client's `FORWARDED_ANTHROPIC_HEADERS` that were set)
-> the backend's request."""

CompleteTranslator = Callable[[dict[str, Any], str, int], tuple[dict[str, Any], Usage]]
"""(upstream answer, the model as the client named it, created) -> (client answer, usage)."""

ConverterFactory = Callable[[str, str, int, bool, int], StreamConverter]
"""(client model, served model, input estimate, include usage, created) -> a fresh converter.

`created` is the answer's time in Unix seconds (OpenAI's `created`)."""


@dataclass(frozen=True, slots=True)
class Translation:
    """One cell of the matrix."""

    request: RequestBuilder
    complete: CompleteTranslator
    stream: ConverterFactory


def _anthropic_headers(client_headers: Mapping[str, str]) -> dict[str, str]:
    return {"anthropic-version": ANTHROPIC_VERSION, **client_headers}


def _renamed(body: Mapping[str, Any], served_model: str) -> dict[str, Any]:
    out = dict(body)
    out["model"] = served_model
    return out


# -- Anthropic front door, Anthropic backend --------------------------------------------------


def _anthropic_to_anthropic_request(
    body: Mapping[str, Any], served_model: str, stream: bool, client_headers: Mapping[str, str]
) -> UpstreamRequest:
    payload = orjson.dumps(_renamed(body, served_model))
    return UpstreamRequest("/v1/messages", payload, _anthropic_headers(client_headers))


def _anthropic_complete(
    data: dict[str, Any], model: str, created: int
) -> tuple[dict[str, Any], Usage]:
    data["model"] = model
    return data, usage_from_anthropic(data.get("usage") or {})


def _anthropic_passthrough(
    model: str, served_model: str, input_estimate: int, include_usage: bool, created: int
) -> StreamConverter:
    return AnthropicPassthrough(model, served_model)


# -- Anthropic front door, OpenAI backend -----------------------------------------------------


def _anthropic_to_openai_request(
    body: Mapping[str, Any], served_model: str, stream: bool, client_headers: Mapping[str, str]
) -> UpstreamRequest:
    payload = orjson.dumps(anthropic_to_openai_request(body, served_model=served_model))
    return UpstreamRequest("/v1/chat/completions", payload, {})


def _openai_to_anthropic_complete(
    data: dict[str, Any], model: str, created: int
) -> tuple[dict[str, Any], Usage]:
    answer = openai_response_to_anthropic(data, model=model, message_id=message_id())
    return answer, usage_from_openai(data.get("usage") or {})


def _openai_to_anthropic_stream(
    model: str, served_model: str, input_estimate: int, include_usage: bool, created: int
) -> StreamConverter:
    return OpenAIToAnthropic(model, message_id(), input_estimate)


# -- OpenAI front door, OpenAI backend --------------------------------------------------------


def _openai_to_openai_request(
    body: Mapping[str, Any], served_model: str, stream: bool, client_headers: Mapping[str, str]
) -> UpstreamRequest:
    out = _renamed(body, served_model)
    if stream:
        options = dict(out.get("stream_options") or {})
        options["include_usage"] = True
        out["stream_options"] = options
    return UpstreamRequest("/v1/chat/completions", orjson.dumps(out), {})


def _openai_complete(
    data: dict[str, Any], model: str, created: int
) -> tuple[dict[str, Any], Usage]:
    data["model"] = model
    return data, usage_from_openai(data.get("usage") or {})


def _openai_passthrough(
    model: str, served_model: str, input_estimate: int, include_usage: bool, created: int
) -> StreamConverter:
    return OpenAIPassthrough(model, served_model, include_usage, input_estimate)


# -- OpenAI front door, Anthropic backend -----------------------------------------------------


def _openai_to_anthropic_request(
    body: Mapping[str, Any], served_model: str, stream: bool, client_headers: Mapping[str, str]
) -> UpstreamRequest:
    payload = orjson.dumps(openai_to_anthropic_request(body, served_model=served_model))
    return UpstreamRequest("/v1/messages", payload, _anthropic_headers(client_headers))


def _anthropic_to_openai_complete(
    data: dict[str, Any], model: str, created: int
) -> tuple[dict[str, Any], Usage]:
    answer = anthropic_response_to_openai(
        data, model=model, completion_id=completion_id(), created=created
    )
    return answer, usage_from_anthropic(data.get("usage") or {})


def _anthropic_to_openai_stream(
    model: str, served_model: str, input_estimate: int, include_usage: bool, created: int
) -> StreamConverter:
    return AnthropicToOpenAI(model, completion_id(), created, include_usage)


TRANSLATIONS: Final[Mapping[tuple[Api, str], Translation]] = {
    ("anthropic", "anthropic"): Translation(
        _anthropic_to_anthropic_request, _anthropic_complete, _anthropic_passthrough
    ),
    ("anthropic", "openai"): Translation(
        _anthropic_to_openai_request, _openai_to_anthropic_complete, _openai_to_anthropic_stream
    ),
    ("openai", "openai"): Translation(
        _openai_to_openai_request, _openai_complete, _openai_passthrough
    ),
    ("openai", "anthropic"): Translation(
        _openai_to_anthropic_request, _anthropic_to_openai_complete, _anthropic_to_openai_stream
    ),
}
"""Keyed by (front door API, backend protocol)."""
