"""SSE codec: decoding across arbitrary chunk splits, line endings, comments, and the encoders."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetgate.translate.sse import (
    OPENAI_DONE,
    SSEDecoder,
    SSEEvent,
    anthropic_event_bytes,
    encode_sse,
    openai_chunk_bytes,
)

ANTHROPIC_STREAM = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":25}}}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b": keep-alive comment\n\n"
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"h\xc3\xa9"}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def decode_all(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def test_decodes_named_events_and_skips_comments() -> None:
    events = decode_all([ANTHROPIC_STREAM])
    assert [event.event for event in events] == [
        "message_start",
        "ping",
        "content_block_delta",
        "message_stop",
    ]
    assert orjson.loads(events[2].data)["delta"]["text"] == "hé"


def test_openai_stream_has_no_event_names() -> None:
    stream = b'data: {"a":1}\n\ndata: [DONE]\n\n'
    assert decode_all([stream]) == [SSEEvent(None, '{"a":1}'), SSEEvent(None, "[DONE]")]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    stream = ANTHROPIC_STREAM.replace(b"\n", newline)
    assert decode_all([stream]) == decode_all([ANTHROPIC_STREAM])


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == [SSEEvent(None, "x")]
    assert decoder.flush() == []


def test_multi_line_data_and_field_rules() -> None:
    stream = b"event: multi\ndata: first\ndata:second\ndata\nid: 7\nretry: 100\nunknown: z\n\n"
    assert decode_all([stream]) == [SSEEvent("multi", "first\nsecond\n")]


def test_only_one_space_after_colon_is_removed() -> None:
    assert decode_all([b"data:  two spaces\n\n"]) == [SSEEvent(None, " two spaces")]


def test_event_without_data_is_not_dispatched_and_name_resets() -> None:
    assert decode_all([b"event: lonely\n\ndata: x\n\n"]) == [SSEEvent(None, "x")]


def test_flush_dispatches_event_missing_final_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: message_stop\ndata: {}") == []
    assert decoder.flush() == [SSEEvent("message_stop", "{}")]
    assert decoder.flush() == []


def test_leading_bom_is_ignored_even_when_split() -> None:
    assert decode_all([b"\xef", b"\xbb\xbfdata: x\n\n"]) == [SSEEvent(None, "x")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode_all([b"data: \xff\n\n"]) == [SSEEvent(None, "\ufffd")]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(ANTHROPIC_STREAM)), max_size=12))
def test_arbitrary_chunk_splits_give_same_events(cuts: list[int]) -> None:
    for stream in (ANTHROPIC_STREAM, ANTHROPIC_STREAM.replace(b"\n", b"\r\n")):
        points = sorted({0, len(stream), *(min(cut, len(stream)) for cut in cuts)})
        chunks = [stream[a:b] for a, b in itertools.pairwise(points)]
        assert decode_all(chunks) == decode_all([stream])


event_names = st.one_of(st.none(), st.text("abcdefghij_", min_size=1, max_size=8))
payloads = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r"), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(event_names, payloads), max_size=6), st.data())
def test_encode_then_decode_round_trips(
    items: list[tuple[str | None, str]], data: st.DataObject
) -> None:
    stream = b"".join(encode_sse(payload, event) for event, payload in items)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=8))
    points = sorted({0, len(stream), *cuts})
    chunks = [stream[a:b] for a, b in itertools.pairwise(points)]
    assert decode_all(chunks) == [SSEEvent(event, payload) for event, payload in items]


def test_encode_sse_shapes() -> None:
    assert encode_sse("x", "ping") == b"event: ping\ndata: x\n\n"
    assert encode_sse(b"a\nb") == b"data: a\ndata: b\n\n"
    with pytest.raises(ValueError, match="line break"):
        encode_sse("x", "bad\nname")


def test_anthropic_and_openai_encoders() -> None:
    payload = {"type": "content_block_stop", "index": 0}
    assert anthropic_event_bytes(payload) == (
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    )
    assert openai_chunk_bytes({"id": "c", "choices": []}) == b'data: {"id":"c","choices":[]}\n\n'
    assert OPENAI_DONE == b"data: [DONE]\n\n"
    with pytest.raises(ValueError, match="type"):
        anthropic_event_bytes({"index": 0})
