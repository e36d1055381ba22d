"""The translated streams, encoded as SSE, are read correctly by the official Anthropic and
OpenAI Python SDKs (over an in-process transport of the SDKs' own HTTP client; no network)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import openai
import orjson

try:  # the SDKs' HTTP client: httpx2 from anthropic 2 / openai 3 on, httpx before
    import httpx2 as sdk_http
except ImportError:
    import httpx as sdk_http
from test_translate_stream_to_anthropic import VLLM_TOOL_STREAM
from test_translate_stream_to_openai import ANTHROPIC_TOOL_STREAM

from fleetgate.translate.sse import (
    OPENAI_DONE,
    SSEDecoder,
    anthropic_event_bytes,
    openai_chunk_bytes,
)
from fleetgate.translate.stream_to_anthropic import OpenAIToAnthropicStream
from fleetgate.translate.stream_to_openai import AnthropicToOpenAIStream

SSE_HEADERS = {"content-type": "text/event-stream"}


def sse_transport(body: bytes) -> sdk_http.Client:
    """A client of the SDKs' HTTP library answering every request with `body`."""

    def handler(request: sdk_http.Request) -> sdk_http.Response:
        return sdk_http.Response(200, headers=SSE_HEADERS, content=body)

    return sdk_http.Client(transport=sdk_http.MockTransport(handler))


def reencode(events: list[dict[str, Any]], encode: Callable[[dict[str, Any]], bytes]) -> bytes:
    return b"".join(encode(event) for event in events)


def test_anthropic_sdk_reads_translated_vllm_stream() -> None:
    upstream = reencode(VLLM_TOOL_STREAM, openai_chunk_bytes) + OPENAI_DONE
    translator = OpenAIToAnthropicStream("claude-sim", "msg_sdk", 280)
    decoder = SSEDecoder()
    events = translator.start()
    for piece in (upstream[i : i + 37] for i in range(0, len(upstream), 37)):
        for sse in decoder.feed(piece):
            if sse.data != "[DONE]":
                events.extend(translator.feed(orjson.loads(sse.data)))
    events.extend(translator.finish())
    with sse_transport(reencode(events, anthropic_event_bytes)) as http_client:
        client = anthropic.Anthropic(
            api_key="k", base_url="http://gw.test", http_client=http_client, max_retries=0
        )
        with client.messages.stream(
            model="claude-sim", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = stream.get_final_message()
    assert final.id == "msg_sdk"
    assert final.stop_reason == "tool_use"
    assert [block.type for block in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[0].text == "I'll check both."  # type: ignore[union-attr]
    assert final.content[1].input == {"city": "Paris"}  # type: ignore[union-attr]
    assert final.content[2].input == {}  # type: ignore[union-attr]
    assert final.usage.output_tokens == 42
    assert final.usage.cache_read_input_tokens == 256


def test_openai_sdk_reads_translated_anthropic_stream() -> None:
    translator = AnthropicToOpenAIStream(
        "claude-sonnet-4-5", "chatcmpl-sdk", 1700000000, include_usage=True
    )
    chunks = [chunk for event in ANTHROPIC_TOOL_STREAM for chunk in translator.feed(event)]
    chunks.extend(translator.finish())
    with sse_transport(reencode(chunks, openai_chunk_bytes) + OPENAI_DONE) as http_client:
        client = openai.OpenAI(
            api_key="k", base_url="http://gw.test/v1", http_client=http_client, max_retries=0
        )
        received = list(
            client.chat.completions.create(
                model="claude-sonnet-4-5",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in received if chunk.choices)
    assert text == "Checking now."
    calls = [
        call
        for chunk in received
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or []
    ]
    assert calls[0].id == "toolu_01A"
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    assert (
        "".join(call.function.arguments or "" for call in calls if call.function)
        == '{"location": "San Francisco"}'
    )
    assert [chunk.choices[0].finish_reason for chunk in received if chunk.choices][
        -1
    ] == "tool_calls"
    assert received[-1].usage is not None
    assert received[-1].usage.prompt_tokens == 535


def test_translated_responses_validate_against_sdk_models() -> None:
    from test_translate_response import anthropic_message, openai_completion

    from fleetgate.translate.response import (
        anthropic_response_to_openai,
        openai_response_to_anthropic,
    )

    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": '{"x": 1}'},
    }
    completion = openai_completion(
        {"role": "assistant", "content": "ok", "tool_calls": [tool_call]}, "tool_calls"
    )
    message = anthropic.types.Message.model_validate(
        openai_response_to_anthropic(completion, model="claude-sim", message_id="msg_v")
    )
    assert message.content[1].type == "tool_use"
    assert message.usage.cache_read_input_tokens == 100
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": "hi"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
    ]
    chat = openai.types.chat.ChatCompletion.model_validate(
        anthropic_response_to_openai(
            anthropic_message(blocks, "tool_use"), model="m", completion_id="c", created=1
        )
    )
    assert chat.choices[0].message.tool_calls is not None
    assert chat.choices[0].finish_reason == "tool_calls"
    assert chat.usage is not None and chat.usage.prompt_tokens == 1250
