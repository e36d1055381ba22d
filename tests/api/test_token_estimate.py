"""Tests for the offline input-token estimates and the image header parser behind them."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetgate.api.image_size import base64_head, image_dimensions
from fleetgate.api.token_estimate import (
    anthropic_image_tokens,
    estimate_anthropic_input_tokens,
    estimate_openai_input_tokens,
    openai_image_tokens,
)
from fleetgate.tokens import filler


def png(width: int, height: int) -> bytes:
    header = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + header + b"\x00" * 4 + b"\x00" * 64


def jpeg(width: int, height: int, exif_bytes: int = 0) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    app1 = b""
    if exif_bytes:
        app1 = b"\xff\xe1" + struct.pack(">H", exif_bytes + 2) + b"\x00" * exif_bytes
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x00" * 9
    return b"\xff\xd8" + app0 + app1 + b"\xff\xff" + sof + b"\xff\xda" + b"\x00" * 32


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 16


def webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8(width: int, height: int) -> bytes:
    return webp(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height))


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return webp(b"VP8L", b"\x2f" + struct.pack("<I", bits))


def webp_vp8x(width: int, height: int) -> bytes:
    size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return webp(b"VP8X", b"\x00" * 4 + size)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (png(1000, 750), (1000, 750)),
        (jpeg(400, 300), (400, 300)),
        (jpeg(4032, 3024, exif_bytes=65_000), (4032, 3024)),
        (gif(75, 10), (75, 10)),
        (webp_vp8(150, 100), (150, 100)),
        (webp_vp8l(30, 25), (30, 25)),
        (webp_vp8x(3000, 2000), (3000, 2000)),
        (b"not an image at all", None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"\xff\xd8\xff\xe0\x00", None),
        (png(0, 10), None),
    ],
)
def test_image_dimensions_from_headers(data: bytes, size: tuple[int, int] | None) -> None:
    head = base64_head(b64(data))
    assert head is not None
    assert image_dimensions(head) == size


def test_base64_head_decodes_only_the_start() -> None:
    data = b64(png(10, 10) + b"\x00" * 1_000_000)
    head = base64_head(data, n_bytes=300)
    assert head is not None
    assert 300 <= len(head) < 400
    assert image_dimensions(head) == (10, 10)


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [(100, 100, 14), (1000, 1000, 1334), (2000, 1000, 1600), (5000, 100, 66), (1, 1, 1)],
)
def test_anthropic_image_rule(width: int, height: int, tokens: int) -> None:
    assert anthropic_image_tokens(width, height) == tokens


@pytest.mark.parametrize(
    ("width", "height", "detail", "tokens"),
    [
        (1024, 1024, "high", 765),
        (2048, 4096, "auto", 1105),
        (4000, 4000, "low", 85),
        (512, 512, "high", 255),
    ],
)
def test_openai_image_rule(width: int, height: int, detail: str, tokens: int) -> None:
    assert openai_image_tokens(width, height, detail) == tokens


def anthropic(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 10, "messages": list(messages), **extra}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_anthropic_text_hand_computed() -> None:
    body = anthropic(user(filler(7)), system=filler(10))
    assert estimate_anthropic_input_tokens(body) == 10 + 3 + 7
    blocks = [{"type": "text", "text": filler(4), "cache_control": {"type": "ephemeral"}}] * 3
    assert estimate_anthropic_input_tokens(anthropic(user("a"), system=blocks)) == 12 + 3 + 1


def test_anthropic_tools_hand_computed() -> None:
    # {"name":"a","input_schema":{}} is 20 tokens; the tool-use system prompt adds 346 (313).
    tools = [{"name": "a", "input_schema": {}, "cache_control": {"type": "ephemeral"}}]
    base = anthropic(user("a"))
    assert estimate_anthropic_input_tokens({**base, "tools": tools}) == 4 + 346 + 20
    forced = {**base, "tools": tools, "tool_choice": {"type": "any"}}
    assert estimate_anthropic_input_tokens(forced) == 4 + 313 + 20


def test_anthropic_tool_blocks_and_thinking_hand_computed() -> None:
    body = anthropic(
        user("a"),
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": filler(5), "signature": "zzzz" * 100},
                {"type": "tool_use", "id": "t1", "name": "read", "input": {"a": 1}},
            ],
        },
        user([{"type": "tool_result", "tool_use_id": "t1", "content": filler(9)}]),
        user(
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": filler(2)}],
                }
            ]
        ),
    )
    # thinking 5; tool_use: name 1 + {"a":1} 7; tool results 9 and 2; 4 messages; "a" 1.
    assert estimate_anthropic_input_tokens(body) == 1 + 5 + 1 + 7 + 9 + 2 + 4 * 3


def test_anthropic_images_and_documents() -> None:
    def image(source: dict[str, Any]) -> dict[str, Any]:
        return anthropic(user([{"type": "image", "source": source}]))

    known = image({"type": "base64", "media_type": "image/png", "data": b64(png(1000, 1000))})
    assert estimate_anthropic_input_tokens(known) == 3 + 1334
    jpeg_body = image({"type": "base64", "media_type": "image/jpeg", "data": b64(jpeg(400, 300))})
    assert estimate_anthropic_input_tokens(jpeg_body) == 3 + 160
    garbled = image({"type": "base64", "media_type": "image/png", "data": "AAAA"})
    assert estimate_anthropic_input_tokens(garbled) == 3 + 1600
    assert estimate_anthropic_input_tokens(image({"type": "url", "url": "https://x"})) == 1603
    pdf = b"%PDF-1.4\n" + b"<< /Type /Pages /Count 3 >>" + b"<< /Type /Page >>" * 3
    doc = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": b64(pdf)},
    }
    assert estimate_anthropic_input_tokens(anthropic(user([doc]))) == 3 + 3 * 1500
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": filler(40)},
    }
    assert estimate_anthropic_input_tokens(anthropic(user([text_doc]))) == 3 + 40


def test_openai_hand_computed() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": filler(5)}]}
    assert estimate_openai_input_tokens(body) == 3 + 3 + 1 + 5
    named = {"model": "m", "messages": [{"role": "user", "content": filler(5), "name": "bob"}]}
    assert estimate_openai_input_tokens(named) == 12 + 1 + 1
    url = f"data:image/png;base64,{b64(png(2048, 4096))}"
    parts = [
        {"type": "text", "text": filler(3)},
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
    ]
    body = {"model": "m", "messages": [{"role": "user", "content": parts}]}
    assert estimate_openai_input_tokens(body) == 3 + 3 + 1 + 3 + 1105 + 85
    call = {"id": "c", "type": "function", "function": {"name": "read", "arguments": "{}"}}
    assistant = {"role": "assistant", "content": None, "tool_calls": [call]}
    body = {"model": "m", "messages": [assistant]}
    # role "assistant" is 3 tokens (assi, stan, t); name 1; "{}" 2.
    assert estimate_openai_input_tokens(body) == 3 + 3 + 3 + 1 + 2


def test_estimates_scale_linearly_with_conversation_length() -> None:
    turn = [user(filler(50)), {"role": "assistant", "content": filler(30)}]
    one = estimate_anthropic_input_tokens(anthropic(*turn))
    ten = estimate_anthropic_input_tokens(anthropic(*(turn * 10)))
    assert ten == 10 * one
    chat_one = estimate_openai_input_tokens({"messages": turn})
    chat_ten = estimate_openai_input_tokens({"messages": turn * 10})
    assert chat_ten - 3 == 10 * (chat_one - 3)


texts = st.text(max_size=40)
anthropic_blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, texts),
    st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "s"}, texts),
    st.builds(
        lambda n, v: {"type": "tool_use", "id": "t", "name": n, "input": {"v": v}},
        texts,
        st.integers(),
    ),
    st.builds(lambda t: {"type": "tool_result", "tool_use_id": "t", "content": t}, texts),
    st.builds(
        lambda w, h: {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": b64(png(w, h))},
        },
        st.integers(1, 5000),
        st.integers(1, 5000),
    ),
)
anthropic_messages = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["user", "assistant"]),
    st.one_of(texts, st.lists(anthropic_blocks, max_size=4)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(anthropic_messages, max_size=6), anthropic_messages, st.integers(0, 6))
def test_adding_a_message_never_lowers_the_anthropic_estimate(
    messages: list[dict[str, Any]], extra: dict[str, Any], position: int
) -> None:
    before = estimate_anthropic_input_tokens(anthropic(*messages))
    grown = [*messages[:position], extra, *messages[position:]]
    after = estimate_anthropic_input_tokens(anthropic(*grown))
    assert after >= before + 3
    assert after == estimate_anthropic_input_tokens(anthropic(*grown))


openai_messages = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["system", "user", "assistant", "tool"]),
    st.one_of(
        texts,
        st.lists(st.builds(lambda t: {"type": "text", "text": t}, texts), min_size=1, max_size=3),
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(openai_messages, max_size=6), openai_messages, st.integers(0, 6))
def test_adding_a_message_never_lowers_the_openai_estimate(
    messages: list[dict[str, Any]], extra: dict[str, Any], position: int
) -> None:
    before = estimate_openai_input_tokens({"messages": messages})
    grown = [*messages[:position], extra, *messages[position:]]
    assert estimate_openai_input_tokens({"messages": grown}) >= before + 3


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8", b"RIFF\x00\x00\x00\x00WEBP"]
    ),
    st.binary(max_size=64),
)
def test_image_parser_never_raises_on_garbage(prefix: bytes, rest: bytes) -> None:
    size = image_dimensions(prefix + rest)
    assert size is None or (size[0] > 0 and size[1] > 0)
