"""Stream converters on hand-made upstream byte streams, split at arbitrary points."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from fleetgate.translate.passthrough import OpenAIPassthrough


def chunk(content: str | None, *, usage: dict[str, int] | None = None, done: bool = False) -> str:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}}]
    payload = {"id": "c", "object": "chat.completion.chunk", "model": "served", "choices": choices}
    payload["usage"] = usage  # type: ignore[assignment]
    return "data: " + json.dumps(payload, separators=(",", ":")) + "\n\n"


STREAM = (
    "".join(chunk(word) for word in ("Hello", " there", " friend"))
    + chunk(None, usage={"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
    + "data: [DONE]\n\n"
).encode()


def relay(converter: OpenAIPassthrough, cuts: list[int]) -> bytes:
    points = sorted({c % (len(STREAM) + 1) for c in cuts})
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    return b"".join(converter.feed(p) for p in pieces if p) + converter.finish()


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_usage_read_and_passed_when_asked(cuts: list[int]) -> None:
    converter = OpenAIPassthrough("served", "served", include_usage=True, input_estimate=5)
    out = relay(converter, cuts)
    assert out == STREAM
    assert converter.complete
    assert (converter.usage.input_tokens, converter.usage.output_tokens) == (7, 3)


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_usage_hidden_when_not_asked_and_model_renamed(cuts: list[int]) -> None:
    converter = OpenAIPassthrough("client-name", "served", include_usage=False, input_estimate=5)
    out = relay(converter, cuts).decode()
    assert '"usage":{' not in out and '"served"' not in out
    assert out.count('"model":"client-name"') == 3 and out.endswith("data: [DONE]\n\n")
    assert converter.usage.output_tokens == 3


def test_cut_stream_charges_the_events_produced() -> None:
    converter = OpenAIPassthrough("served", "served", include_usage=True, input_estimate=5)
    converter.feed(STREAM[: STREAM.index(b"friend")])
    assert not converter.complete
    assert (converter.usage.input_tokens, converter.usage.output_tokens) == (5, 2)


def anthropic_event(payload: dict[str, object]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def test_anthropic_passthrough_charges_a_cut_stream_for_its_deltas() -> None:
    from fleetgate.translate.passthrough import AnthropicPassthrough

    start = {
        "type": "message_start",
        "message": {"model": "served", "usage": {"input_tokens": 21, "output_tokens": 1}},
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "a"},
    }
    converter = AnthropicPassthrough("client", "served")
    out = converter.feed(anthropic_event(start) + anthropic_event(delta) + anthropic_event(delta))
    assert b'"model": "client"' in out or b'"model":"client"' in out
    assert not converter.complete
    assert (converter.usage.input_tokens, converter.usage.output_tokens) == (21, 2)
    final = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 7},
    }
    converter.feed(anthropic_event(final) + anthropic_event({"type": "message_stop"}))
    assert converter.complete
    assert (converter.usage.input_tokens, converter.usage.output_tokens) == (21, 7)
