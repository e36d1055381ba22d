"""Streaming translation between the OpenAI and Anthropic APIs: small stateful classes fed one
upstream event at a time.

One import point for the gateway; each direction lives in its own module:
`translate_stream_to_anthropic` (`OpenAIToAnthropicStream`, `error_event`) and
`translate_stream_to_openai` (`AnthropicToOpenAIStream`).
"""

from __future__ import annotations

from fleetgate.upstream.translate_stream_to_anthropic import OpenAIToAnthropicStream, error_event
from fleetgate.upstream.translate_stream_to_openai import AnthropicToOpenAIStream

__all__ = ["AnthropicToOpenAIStream", "OpenAIToAnthropicStream", "error_event"]
