"""Anthropic stream events for tests: the `content_block_delta` shapes that stream fixtures and
expected event lists repeat (the translation tests and the fake Anthropic upstream share them)."""

from __future__ import annotations

from typing import Any


def text_delta(index: int, text: str) -> dict[str, Any]:
    """A `content_block_delta` carrying `text` for the block at `index`."""
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


def json_delta(index: int, partial_json: str) -> dict[str, Any]:
    """A `content_block_delta` carrying a fragment of the tool input of the block at `index`."""
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial_json},
    }
