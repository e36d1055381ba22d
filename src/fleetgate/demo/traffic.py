"""The demo's scripted traffic: the official `anthropic` and `openai` SDKs against the gateway.

Each request records where it was served (the `x-fleetgate-site` header), its latency, time to
first token for streams, and the tokens the answer reports.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import openai

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}


def where(headers: Any) -> tuple[str, str, str]:
    """(site, pool, backend) that served a request, from fleetgate's response headers."""
    return (
        headers.get("x-fleetgate-site", "?"),
        headers.get("x-fleetgate-pool", "?"),
        headers.get("x-fleetgate-backend", "?"),
    )


@dataclass(slots=True)
class Outcome:
    """One demo request as the client saw it."""

    api: str
    kind: str
    model: str
    site: str
    pool: str
    backend: str
    seconds: float
    ttft: float | None
    input_tokens: int
    output_tokens: int
    stop: str


async def anthropic_call(
    client: anthropic.AsyncAnthropic, model: str, *, stream: bool, tool: bool = False
) -> Outcome:
    """One Messages API request, streaming or not, optionally forcing a tool call."""
    extra: dict[str, Any] = {}
    if tool:
        extra = {"tools": [WEATHER_TOOL], "tool_choice": {"type": "any"}}
    prompt = "What's the weather in Memphis?" if tool else "Say something about GPU fleets."
    started = time.monotonic()
    raw = await client.messages.with_raw_response.create(
        model=model,
        max_tokens=48,
        messages=[{"role": "user", "content": prompt}],
        stream=stream,
        **extra,
    )
    parsed = await raw.parse()
    ttft: float | None = None
    if isinstance(parsed, anthropic.types.Message):
        usage_in, usage_out = parsed.usage.input_tokens, parsed.usage.output_tokens
        stop = str(parsed.stop_reason)
    else:
        usage_in = usage_out = 0
        stop = "?"
        async for event in parsed:
            if ttft is None and event.type == "content_block_delta":
                ttft = time.monotonic() - started
            if event.type == "message_start":
                usage_in = event.message.usage.input_tokens
            elif event.type == "message_delta":
                usage_out = event.usage.output_tokens
                usage_in = event.usage.input_tokens or usage_in
                stop = str(event.delta.stop_reason)
    kind = ("tool+" if tool else "") + ("stream" if stream else "json")
    seconds = time.monotonic() - started
    site, pool, backend = where(raw.headers)
    return Outcome(
        "claude", kind, model, site, pool, backend, seconds, ttft, usage_in, usage_out, stop
    )


async def openai_call(client: openai.AsyncOpenAI, model: str, *, stream: bool) -> Outcome:
    """One Chat Completions request, streaming (with include_usage) or not."""
    started = time.monotonic()
    messages: Any = [{"role": "user", "content": "Say something about GPU fleets."}]
    ttft: float | None = None
    prompt_tokens = completion_tokens = 0
    stop = "?"
    if not stream:
        raw = await client.chat.completions.with_raw_response.create(
            model=model, max_tokens=32, messages=messages
        )
        headers = raw.headers
        completion = raw.parse()
        if completion.usage is not None:
            prompt_tokens = completion.usage.prompt_tokens
            completion_tokens = completion.usage.completion_tokens
        stop = str(completion.choices[0].finish_reason)
    else:
        raw_stream = await client.chat.completions.with_raw_response.create(
            model=model,
            max_tokens=32,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        headers = raw_stream.headers
        async for chunk in raw_stream.parse():
            if chunk.choices and chunk.choices[0].delta.content and ttft is None:
                ttft = time.monotonic() - started
            if chunk.choices and chunk.choices[0].finish_reason:
                stop = chunk.choices[0].finish_reason
            if chunk.usage is not None:
                prompt_tokens = chunk.usage.prompt_tokens
                completion_tokens = chunk.usage.completion_tokens
    kind = "stream" if stream else "json"
    seconds = time.monotonic() - started
    return Outcome(
        "openai",
        kind,
        model,
        *where(headers),
        seconds,
        ttft,
        prompt_tokens,
        completion_tokens,
        stop,
    )


async def scripted_mix(base_url: str, key: str) -> tuple[list[Outcome], int]:
    """The demo's requests, a few at a time; also returns one count_tokens answer."""
    claude = anthropic.AsyncAnthropic(base_url=base_url, api_key=key, max_retries=0)
    gpt = openai.AsyncOpenAI(base_url=base_url + "/v1", api_key=key, max_retries=0)
    sonnet, haiku = "claude-sonnet-sim", "claude-haiku-sim"
    try:
        batches = [
            [anthropic_call(claude, sonnet, stream=False) for _ in range(3)],
            [anthropic_call(claude, sonnet, stream=True) for _ in range(3)],
            [openai_call(gpt, haiku, stream=False), openai_call(gpt, sonnet, stream=False)],
            [openai_call(gpt, haiku, stream=True), openai_call(gpt, sonnet, stream=True)],
            [
                anthropic_call(claude, sonnet, stream=False, tool=True),
                anthropic_call(claude, haiku, stream=True, tool=True),
            ],
        ]
        outcomes: list[Outcome] = []
        for batch in batches:
            outcomes.extend(await asyncio.gather(*batch))
        counted = await claude.messages.count_tokens(
            model=sonnet, messages=[{"role": "user", "content": "How many tokens is this?"}]
        )
        return outcomes, counted.input_tokens
    finally:
        await claude.close()
        await gpt.close()
