"""What to send a backend for a call: path, body and headers, per front door and backend protocol.

Same protocol: the client's body goes through unchanged but for the model name (fields the gateway
does not interpret reach Anthropic upstreams as sent). Different protocols: the body is
translated. OpenAI upstreams are always asked for usage on streams so settlement is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from fleetgate.gateway.call import Call
from fleetgate.upstream.translate_request import (
    anthropic_to_openai_request,
    openai_to_anthropic_request,
)

ANTHROPIC_VERSION = "2023-06-01"
FORWARDED_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """One request ready to send to a backend."""

    path: str
    body: bytes
    headers: dict[str, str]


def build_upstream_request(call: Call, protocol: str, served_model: str) -> UpstreamRequest:
    """The request for a backend speaking `protocol` that knows the model as `served_model`."""
    if protocol == "anthropic":
        return UpstreamRequest(
            "/v1/messages", _anthropic_body(call, served_model), _anthropic(call)
        )
    return UpstreamRequest("/v1/chat/completions", _openai_body(call, served_model), {})


def _anthropic_body(call: Call, served_model: str) -> bytes:
    if call.api == "anthropic":
        body: dict[str, Any] = dict(call.body)
        body["model"] = served_model
    else:
        body = openai_to_anthropic_request(call.body, served_model=served_model)
    return orjson.dumps(body)


def _openai_body(call: Call, served_model: str) -> bytes:
    if call.api == "openai":
        body: dict[str, Any] = dict(call.body)
        body["model"] = served_model
        if call.stream:
            options = dict(body.get("stream_options") or {})
            options["include_usage"] = True
            body["stream_options"] = options
    else:
        body = anthropic_to_openai_request(call.body, served_model=served_model)
    return orjson.dumps(body)


def _anthropic(call: Call) -> dict[str, str]:
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    for name in FORWARDED_ANTHROPIC_HEADERS:
        value = call.client_headers.get(name)
        if value:
            headers[name] = value
    return headers
