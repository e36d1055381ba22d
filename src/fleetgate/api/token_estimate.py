"""Offline input-token estimates for Anthropic Messages and OpenAI chat bodies (no network).

Text is counted with `fleetgate.tokens.count_tokens`. Anthropic: system prompt, every message's
text, tool_use input JSON, tool_result content, thinking text and tool definitions, 3 tokens per
message, the published tool-use system prompt (346 tokens, 313 when tool_choice forces a tool),
images at (width * height) / 750 after the API's resize to a 1568 px long edge, capped at 1,600
tokens (also the figure when the size cannot be read from the header), PDFs at 1,500 tokens per
page. OpenAI: 3 tokens per message plus 3 to prime the reply, tiles of 512 px at 170 tokens plus
85 for images. Every part adds a non-negative amount, so adding content never lowers the count.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from fleetgate.api.image_size import base64_head, image_dimensions
from fleetgate.tokens import count_tokens

MESSAGE_OVERHEAD = 3
OPENAI_REPLY_PRIMING = 3
TOOL_PROMPT_TOKENS = 346
FORCED_TOOL_PROMPT_TOKENS = 313
IMAGE_MAX_TOKENS = 1600
IMAGE_MAX_EDGE = 1568
IMAGE_PIXELS_PER_TOKEN = 750
PDF_PAGE_TOKENS = 1500
UNKNOWN_DOCUMENT_TOKENS = 1500
OPENAI_LOW_DETAIL_TOKENS = 85
OPENAI_TILE_TOKENS = 170
OPENAI_UNKNOWN_IMAGE_SIZE = (1024, 1024)
AUDIO_BYTES_PER_TOKEN = 3200
"""16 kHz 16-bit mono audio at about 10 tokens a second."""
REDACTED_CHARS_PER_TOKEN = 4

_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def estimate_anthropic_input_tokens(body: Mapping[str, Any]) -> int:
    """What `/v1/messages/count_tokens` would answer for `body` (a validated Messages body)."""
    total = _anthropic_system(body.get("system"))
    for message in _dicts(body.get("messages")):
        total += MESSAGE_OVERHEAD + _anthropic_content(message.get("content"))
    tools = list(_dicts(body.get("tools")))
    if tools:
        choice = body.get("tool_choice")
        forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")
        total += FORCED_TOOL_PROMPT_TOKENS if forced else TOOL_PROMPT_TOKENS
        total += sum(_json_tokens(_without(tool, "cache_control")) for tool in tools)
    return total


def estimate_openai_input_tokens(body: Mapping[str, Any]) -> int:
    """The prompt tokens of an OpenAI chat body (a validated body)."""
    total = OPENAI_REPLY_PRIMING
    for message in _dicts(body.get("messages")):
        total += MESSAGE_OVERHEAD + _openai_message(message)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += _json_tokens(tools)
    return total


def anthropic_image_tokens(width: int, height: int) -> int:
    """Anthropic's estimate for a width x height image after the API's own downscaling."""
    scale = min(1.0, IMAGE_MAX_EDGE / max(width, height, 1))
    pixels = (width * scale) * (height * scale)
    return max(1, min(IMAGE_MAX_TOKENS, math.ceil(pixels / IMAGE_PIXELS_PER_TOKEN)))


def openai_image_tokens(width: int, height: int, detail: str) -> int:
    """OpenAI's tile rule: fit in 2048 px, shortest side to 768 px, 170 per 512 px tile + 85."""
    if detail == "low":
        return OPENAI_LOW_DETAIL_TOKENS
    fit = min(1.0, 2048 / max(width, height, 1))
    fitted_width, fitted_height = width * fit, height * fit
    shrink = min(1.0, 768 / max(min(fitted_width, fitted_height), 1.0))
    tiles = math.ceil(fitted_width * shrink / 512) * math.ceil(fitted_height * shrink / 512)
    return OPENAI_LOW_DETAIL_TOKENS + OPENAI_TILE_TOKENS * tiles


def pdf_pages(data: bytes) -> int:
    """The page count of a PDF by its page objects (at least 1; compressed objects hide some)."""
    return max(1, len(_PDF_PAGE.findall(data)))


def _anthropic_system(system: Any) -> int:
    if isinstance(system, str):
        return count_tokens(system)
    return _anthropic_content(system) if isinstance(system, list) else 0


def _anthropic_content(content: Any) -> int:
    if isinstance(content, str):
        return count_tokens(content)
    return sum(_anthropic_block(block) for block in _dicts(content))


def _anthropic_block(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return _text(block.get("text"))
    if kind in ("tool_use", "server_tool_use"):
        return _text(block.get("name")) + _json_tokens(block.get("input", {}))
    if kind == "tool_result":
        return _anthropic_content(block.get("content"))
    if kind == "thinking":
        return _text(block.get("thinking"))
    if kind == "redacted_thinking":
        data = block.get("data")
        return len(data) // REDACTED_CHARS_PER_TOKEN if isinstance(data, str) else 0
    if kind == "image":
        return _anthropic_image(block.get("source"))
    if kind == "document":
        return _text(block.get("title")) + _text(block.get("context")) + _document(block)
    if kind == "search_result":
        titles = _text(block.get("title")) + _text(block.get("source"))
        return titles + _anthropic_content(block.get("content"))
    return _json_tokens(_without(block, "cache_control"))


def _anthropic_image(source: Any) -> int:
    if not isinstance(source, dict) or source.get("type") != "base64":
        return IMAGE_MAX_TOKENS
    size = _base64_image_size(source.get("data"))
    return IMAGE_MAX_TOKENS if size is None else anthropic_image_tokens(*size)


def _document(block: dict[str, Any]) -> int:
    source = block.get("source")
    if not isinstance(source, dict):
        return UNKNOWN_DOCUMENT_TOKENS
    kind = source.get("type")
    if kind == "text":
        return _text(source.get("data"))
    if kind == "content":
        return _anthropic_content(source.get("content"))
    if kind == "base64":
        return _pdf_tokens(source.get("data"))
    return UNKNOWN_DOCUMENT_TOKENS


def _pdf_tokens(data: Any) -> int:
    if not isinstance(data, str):
        return UNKNOWN_DOCUMENT_TOKENS
    try:
        raw = binascii.a2b_base64(data.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        return UNKNOWN_DOCUMENT_TOKENS
    return PDF_PAGE_TOKENS * pdf_pages(raw)


def _openai_message(message: dict[str, Any]) -> int:
    total = _text(message.get("role")) + _openai_content(message.get("content"))
    name = message.get("name")
    if isinstance(name, str):
        total += count_tokens(name) + 1
    total += _text(message.get("tool_call_id"))
    for call in _dicts(message.get("tool_calls")):
        function = call.get("function")
        if isinstance(function, dict):
            total += _text(function.get("name")) + _text(function.get("arguments"))
    function_call = message.get("function_call")
    if isinstance(function_call, dict):
        total += _text(function_call.get("name")) + _text(function_call.get("arguments"))
    return total


def _openai_content(content: Any) -> int:
    if isinstance(content, str):
        return count_tokens(content)
    return sum(_openai_part(part) for part in _dicts(content))


def _openai_part(part: dict[str, Any]) -> int:
    kind = part.get("type")
    if kind in ("text", "refusal"):
        return _text(part.get(kind))
    if kind == "image_url":
        image = part.get("image_url")
        return _openai_image(image) if isinstance(image, dict) else OPENAI_LOW_DETAIL_TOKENS
    if kind == "input_audio":
        audio = part.get("input_audio")
        data = audio.get("data") if isinstance(audio, dict) else None
        return len(data) * 3 // 4 // AUDIO_BYTES_PER_TOKEN if isinstance(data, str) else 0
    if kind == "file":
        file = part.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        if isinstance(data, str):
            return _pdf_tokens(data.partition("base64,")[2] or data)
        return UNKNOWN_DOCUMENT_TOKENS
    return _json_tokens(part)


def _openai_image(image: dict[str, Any]) -> int:
    detail = image.get("detail")
    detail = detail if isinstance(detail, str) else "auto"
    url = image.get("url")
    size = None
    if isinstance(url, str) and url.startswith("data:"):
        size = _base64_image_size(url.partition("base64,")[2])
    width, height = size or OPENAI_UNKNOWN_IMAGE_SIZE
    return openai_image_tokens(width, height, detail)


def _base64_image_size(data: Any) -> tuple[int, int] | None:
    if not isinstance(data, str):
        return None
    head = base64_head(data)
    return None if head is None else image_dimensions(head)


def _text(value: Any) -> int:
    return count_tokens(value) if isinstance(value, str) else 0


def _json_tokens(value: Any) -> int:
    try:
        return count_tokens(orjson.dumps(value).decode("utf-8"))
    except TypeError:
        return 0


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if name != key}


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, list):
        return (item for item in value if isinstance(item, dict))
    return ()
