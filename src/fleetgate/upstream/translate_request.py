"""Request translation between the Anthropic Messages and OpenAI Chat Completions APIs.

One import point for the gateway; each direction lives in its own module:
`translate_request_to_openai` (Anthropic -> OpenAI) and `translate_request_to_anthropic`
(OpenAI -> Anthropic). Both are pure (dict in, dict out) and raise `InvalidRequest` naming the
field path when the body cannot be translated.
"""

from __future__ import annotations

from fleetgate.upstream.translate_request_to_anthropic import (
    DEFAULT_MAX_TOKENS,
    openai_to_anthropic_request,
)
from fleetgate.upstream.translate_request_to_openai import anthropic_to_openai_request

__all__ = ["DEFAULT_MAX_TOKENS", "anthropic_to_openai_request", "openai_to_anthropic_request"]
