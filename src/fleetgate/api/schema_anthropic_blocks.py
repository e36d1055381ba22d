"""Validation of Anthropic messages, content blocks, system prompts, tools and tool_choice.

Known block types (text, image, document, tool_use, tool_result, thinking, redacted_thinking,
server_tool_use, web_search_tool_result, search_result, container_upload) are checked strictly;
any other block with a string ``type`` is accepted unchanged, as are server tools (a string
``type`` such as ``web_search_20250305`` and a ``name``). ``cache_control`` is checked wherever
it appears. Errors use the Messages API's wording and dotted paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

from fleetgate.api.schema_anthropic_fields import (
    array,
    boolean,
    fail,
    join,
    literal,
    mapping,
    required,
    string,
    tag,
)
from fleetgate.errors import InvalidRequest

ROLES = ("user", "assistant")
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
CUSTOM_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TOOL_CHOICES = ("auto", "any", "tool", "none")

BlockCheck = Callable[[dict[str, Any], str], None]


def check_message(value: Any, index: int, *, is_last: bool) -> None:
    """Check ``messages[index]``: a role, and content that is a string or a list of blocks."""
    path = join("messages", index)
    message = mapping(value, path)
    role = literal(required(message, "role", path), join(path, "role"), ROLES)
    content = required(message, "content", path)
    content_path = join(path, "content")
    final_assistant = is_last and role == "assistant"
    if isinstance(content, str):
        if not content and not final_assistant:
            _non_empty_content_error(path)
        if content and not content.strip():
            _messages_error("text content blocks must contain non-whitespace text", content_path)
        last_text = content
    else:
        blocks = array(content, content_path)
        if not blocks and not final_assistant:
            _non_empty_content_error(path)
        last_text = ""
        for block_index, block in enumerate(blocks):
            block_path = join(content_path, block_index)
            checked = check_block(block, block_path)
            if checked.get("type") == "text":
                _check_message_text(checked["text"], block_path)
                last_text = checked["text"]
            else:
                last_text = ""
    if final_assistant and last_text and last_text != last_text.rstrip():
        _messages_error("final assistant content cannot end with trailing whitespace", path)


def check_block(value: Any, path: str) -> dict[str, Any]:
    """Check one content block; unknown block types with a string ``type`` pass unchanged."""
    block = mapping(value, path)
    kind = string(required(block, "type", path), join(path, "type"))
    check = _BLOCK_CHECKS.get(kind)
    if check is not None:
        check(block, path)
    cache_control = block.get("cache_control")
    if cache_control is not None:
        check_cache_control(cache_control, join(path, "cache_control"))
    return block


def check_cache_control(value: Any, path: str) -> None:
    """``{"type": "ephemeral", "ttl"?: "5m" | "1h"}``."""
    control = mapping(value, path)
    literal(required(control, "type", path), join(path, "type"), ("ephemeral",))
    ttl = control.get("ttl")
    if ttl is not None:
        literal(ttl, join(path, "ttl"), ("5m", "1h"))


def check_system(value: Any, path: str) -> None:
    """The system prompt: a string or a list of text blocks."""
    if isinstance(value, str):
        return
    for index, block in enumerate(array(value, path)):
        block_path = join(path, index)
        checked = check_block(block, block_path)
        literal(checked["type"], join(block_path, "type"), ("text",))
        if not checked["text"]:
            _api_error("system: text content blocks must be non-empty", block_path)


def check_tools(value: Any, path: str) -> list[Any]:
    """Tool definitions: custom tools (name, input_schema) or server tools (type and name)."""
    tools = array(value, path)
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        tool_path = join(path, index)
        name = _check_tool(mapping(tool, tool_path), tool_path)
        if name in seen:
            _api_error("tools: Tool names must be unique.", join(tool_path, "name"))
        seen.add(name)
    return tools


def check_tool_choice(value: Any, path: str) -> None:
    """``{"type": auto|any|tool|none, "name" (for tool), "disable_parallel_tool_use"?: bool}``."""
    choice = mapping(value, path)
    kind = tag(choice, path, TOOL_CHOICES)
    if kind == "tool":
        string(required(choice, "name", join(path, kind)), join(join(path, kind), "name"))
    disable_parallel = choice.get("disable_parallel_tool_use")
    if disable_parallel is not None:
        boolean(disable_parallel, join(join(path, kind), "disable_parallel_tool_use"))


def _check_tool(tool: dict[str, Any], path: str) -> str:
    kind = tool.get("type")
    if kind is not None and kind != "custom":
        string(kind, join(path, "type"))
        name = string(required(tool, "name", path), join(path, "name"))
    else:
        name = string(required(tool, "name", path), join(path, "name"))
        if not CUSTOM_TOOL_NAME.match(name):
            fail(join(path, "name"), f"String should match pattern '{CUSTOM_TOOL_NAME.pattern}'")
        description = tool.get("description")
        if description is not None:
            string(description, join(path, "description"))
        schema_path = join(path, "input_schema")
        schema = mapping(required(tool, "input_schema", path), schema_path)
        if "type" in schema:
            literal(schema["type"], join(schema_path, "type"), ("object",))
    cache_control = tool.get("cache_control")
    if cache_control is not None:
        check_cache_control(cache_control, join(path, "cache_control"))
    return name


def _check_message_text(text: str, path: str) -> None:
    if not text:
        _messages_error("text content blocks must be non-empty", path)
    if not text.strip():
        _messages_error("text content blocks must contain non-whitespace text", path)


def _non_empty_content_error(path: str) -> NoReturn:
    _api_error(
        f"{path}: all messages must have non-empty content except for the optional final "
        "assistant message",
        path,
    )


def _messages_error(detail: str, param: str) -> NoReturn:
    _api_error(f"messages: {detail}", param)


def _api_error(message: str, param: str) -> NoReturn:
    raise InvalidRequest(message, param=param)


def _text(block: dict[str, Any], path: str) -> None:
    string(required(block, "text", path), join(path, "text"))
    citations = block.get("citations")
    if citations is not None:
        array(citations, join(path, "citations"))


def _image(block: dict[str, Any], path: str) -> None:
    source_path = join(path, "source")
    source = mapping(required(block, "source", path), source_path)
    kind = tag(source, source_path, ("base64", "url", "file"))
    at = join(source_path, kind)
    if kind == "base64":
        literal(required(source, "media_type", at), join(at, "media_type"), IMAGE_MEDIA_TYPES)
        string(required(source, "data", at), join(at, "data"))
    elif kind == "url":
        string(required(source, "url", at), join(at, "url"))
    else:
        string(required(source, "file_id", at), join(at, "file_id"))


def _document(block: dict[str, Any], path: str) -> None:
    source_path = join(path, "source")
    source = mapping(required(block, "source", path), source_path)
    kind = tag(source, source_path, ("base64", "text", "content", "url", "file"))
    at = join(source_path, kind)
    if kind in ("base64", "text"):
        string(required(source, "media_type", at), join(at, "media_type"))
        string(required(source, "data", at), join(at, "data"))
    elif kind == "content":
        content = required(source, "content", at)
        if not isinstance(content, str):
            for index, inner in enumerate(array(content, join(at, "content"))):
                check_block(inner, join(join(at, "content"), index))
    else:
        key = "url" if kind == "url" else "file_id"
        string(required(source, key, at), join(at, key))
    for key in ("title", "context"):
        if block.get(key) is not None:
            string(block[key], join(path, key))


def _tool_use(block: dict[str, Any], path: str) -> None:
    string(required(block, "id", path), join(path, "id"))
    string(required(block, "name", path), join(path, "name"))
    if "input" not in block:
        fail(join(path, "input"), "Field required")
    mapping(block["input"], join(path, "input"))


def _tool_result(block: dict[str, Any], path: str) -> None:
    string(required(block, "tool_use_id", path), join(path, "tool_use_id"))
    content = block.get("content")
    if content is not None and not isinstance(content, str):
        for index, inner in enumerate(array(content, join(path, "content"))):
            check_block(inner, join(join(path, "content"), index))
    if block.get("is_error") is not None:
        boolean(block["is_error"], join(path, "is_error"))


def _thinking(block: dict[str, Any], path: str) -> None:
    string(required(block, "thinking", path), join(path, "thinking"))
    string(required(block, "signature", path), join(path, "signature"))


def _redacted_thinking(block: dict[str, Any], path: str) -> None:
    string(required(block, "data", path), join(path, "data"))


def _web_search_tool_result(block: dict[str, Any], path: str) -> None:
    string(required(block, "tool_use_id", path), join(path, "tool_use_id"))
    required(block, "content", path)


def _search_result(block: dict[str, Any], path: str) -> None:
    string(required(block, "source", path), join(path, "source"))
    string(required(block, "title", path), join(path, "title"))
    content_path = join(path, "content")
    for index, inner in enumerate(array(required(block, "content", path), content_path)):
        checked = check_block(inner, join(content_path, index))
        literal(checked["type"], join(join(content_path, index), "type"), ("text",))


def _container_upload(block: dict[str, Any], path: str) -> None:
    string(required(block, "file_id", path), join(path, "file_id"))


_BLOCK_CHECKS: Mapping[str, BlockCheck] = MappingProxyType(
    {
        "text": _text,
        "image": _image,
        "document": _document,
        "tool_use": _tool_use,
        "server_tool_use": _tool_use,
        "tool_result": _tool_result,
        "thinking": _thinking,
        "redacted_thinking": _redacted_thinking,
        "web_search_tool_result": _web_search_tool_result,
        "search_result": _search_result,
        "container_upload": _container_upload,
    }
)
