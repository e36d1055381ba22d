"""Anthropic Messages request -> OpenAI Chat Completions request (pure: dict in, dict out).

Mapping (Anthropic -> OpenAI):
- `system` (string or text blocks; `cache_control` dropped) -> one leading `system` message, text
  blocks joined with a blank line;
- user blocks: `text` -> text parts (a string when there is no image), `image` (base64 -> `data:`
  URL, url source -> its URL) -> `image_url` parts, plain-text `document`/`search_result` -> text,
  base64 PDF `document` -> a `file` part; `tool_result` -> one `tool` message per block (placed
  before the user's other parts, as OpenAI requires tool answers right after the call), its text
  prefixed `Error: ` when `is_error`; images inside a tool result ride in the user message after;
- assistant blocks: text joined, `tool_use` -> `tool_calls` with JSON-string arguments;
- `thinking`, `redacted_thinking` and server-tool blocks are dropped;
- tools -> functions, `tool_choice` auto/any/tool/none -> auto/required/named function/none,
  `disable_parallel_tool_use` -> `parallel_tool_calls: false`; Anthropic-defined tools without an
  `input_schema` (web search, code execution, ...) cannot run on an OpenAI backend and are dropped;
- `max_tokens`, `stop_sequences` -> `stop`, `temperature`, `top_p`, `metadata.user_id` -> `user`,
  `stream` -> `stream` + `stream_options.include_usage`. Every other field (`top_k`, `thinking`,
  `service_tier`, `context_management`, `mcp_servers`, `container`, ...) is dropped, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetgate.errors import InvalidRequest
from fleetgate.translate.common import (
    JsonObject,
    data_url,
    input_to_arguments,
    list_at,
    mapping_at,
    optional_int,
    optional_number,
    str_at,
    strings_at,
)

_DROPPED_BLOCKS = frozenset(
    {"thinking", "redacted_thinking", "server_tool_use", "mcp_tool_use", "container_upload"}
)
_PLAIN_TEXT_MEDIA = frozenset({"text/plain", "text/markdown", "text/csv", "text/html"})


def anthropic_to_openai_request(body: Mapping[str, Any], *, served_model: str) -> dict[str, Any]:
    """The OpenAI Chat Completions request equivalent to Anthropic Messages request `body`."""
    body = mapping_at(body, "body", InvalidRequest)
    messages: list[JsonObject] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for index, message in enumerate(list_at(body.get("messages"), "messages", InvalidRequest)):
        messages.extend(_message(message, f"messages[{index}]"))
    request: JsonObject = {"model": served_model, "messages": messages}
    _copy_sampling(body, request)
    _copy_tools(body, request)
    if body.get("stream") is True:
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
    return request


def _is_dropped_block(block_type: str) -> bool:
    return block_type in _DROPPED_BLOCKS or (
        block_type.endswith("_tool_result") and block_type != "tool_result"
    )


def _block_type(block: Mapping[str, Any], path: str) -> str:
    return str_at(block.get("type"), f"{path}.type", InvalidRequest)


def _system_text(system: object) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    texts: list[str] = []
    for index, raw_block in enumerate(list_at(system, "system", InvalidRequest)):
        path = f"system[{index}]"
        block = mapping_at(raw_block, path, InvalidRequest)
        if _block_type(block, path) != "text":
            raise InvalidRequest(f"{path}.type: system blocks must be text blocks", param=path)
        texts.append(str_at(block.get("text"), f"{path}.text", InvalidRequest))
    return "\n\n".join(texts)


def _message(message: object, path: str) -> list[JsonObject]:
    message = mapping_at(message, path, InvalidRequest)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise InvalidRequest(
            f"{path}.role: expected 'user' or 'assistant', got {role!r}", param=f"{path}.role"
        )
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [
        mapping_at(block, f"{path}.content[{index}]", InvalidRequest)
        for index, block in enumerate(list_at(content, f"{path}.content", InvalidRequest))
    ]
    if role == "user":
        return _user_messages(blocks, f"{path}.content")
    return _assistant_messages(blocks, f"{path}.content")


def _user_messages(blocks: list[Mapping[str, Any]], path: str) -> list[JsonObject]:
    tool_messages: list[JsonObject] = []
    parts: list[JsonObject] = []
    for index, block in enumerate(blocks):
        block_path = f"{path}[{index}]"
        block_type = _block_type(block, block_path)
        if block_type == "tool_result":
            tool_message, extra_parts = _tool_result(block, block_path)
            tool_messages.append(tool_message)
            parts.extend(extra_parts)
        elif not _is_dropped_block(block_type):
            parts.append(_content_part(block, block_type, block_path))
    messages = tool_messages
    if parts:
        messages.append({"role": "user", "content": _collapse_parts(parts)})
    return messages


def _collapse_parts(parts: list[JsonObject]) -> str | list[JsonObject]:
    """Text-only content as one string (what every OpenAI-compatible server accepts)."""
    if all(part["type"] == "text" for part in parts):
        return "\n".join(str(part["text"]) for part in parts)
    return parts


def _content_part(block: Mapping[str, Any], block_type: str, path: str) -> JsonObject:
    if block_type == "text":
        return {"type": "text", "text": str_at(block.get("text"), f"{path}.text", InvalidRequest)}
    if block_type == "image":
        return _image_part(block, path)
    if block_type == "document":
        return _document_part(block, path)
    if block_type == "search_result":
        return {"type": "text", "text": _search_result_text(block, path)}
    raise InvalidRequest(
        f"{path}.type: content block {block_type!r} cannot be sent to an OpenAI-protocol backend",
        param=f"{path}.type",
    )


def _image_part(block: Mapping[str, Any], path: str) -> JsonObject:
    source = mapping_at(block.get("source"), f"{path}.source", InvalidRequest)
    source_type = source.get("type")
    if source_type == "base64":
        media_type = str_at(source.get("media_type"), f"{path}.source.media_type", InvalidRequest)
        data = str_at(source.get("data"), f"{path}.source.data", InvalidRequest)
        return {"type": "image_url", "image_url": {"url": data_url(media_type, data)}}
    if source_type == "url":
        url = str_at(source.get("url"), f"{path}.source.url", InvalidRequest)
        return {"type": "image_url", "image_url": {"url": url}}
    raise InvalidRequest(
        f"{path}.source.type: image source {source_type!r} cannot be sent to an OpenAI-protocol "
        "backend (use base64 or url)",
        param=f"{path}.source.type",
    )


def _document_part(block: Mapping[str, Any], path: str) -> JsonObject:
    source = mapping_at(block.get("source"), f"{path}.source", InvalidRequest)
    source_type = source.get("type")
    title = block.get("title")
    heading = f"{title}\n\n" if isinstance(title, str) and title else ""
    if source_type == "text" or (
        source_type == "base64" and source.get("media_type") in _PLAIN_TEXT_MEDIA
    ):
        text = str_at(source.get("data"), f"{path}.source.data", InvalidRequest)
        return {"type": "text", "text": heading + text}
    if source_type == "content":
        inner = source.get("content")
        text = inner if isinstance(inner, str) else _texts_of(inner, f"{path}.source.content")
        return {"type": "text", "text": heading + text}
    if source_type == "base64" and source.get("media_type") == "application/pdf":
        data = str_at(source.get("data"), f"{path}.source.data", InvalidRequest)
        filename = title if isinstance(title, str) and title else "document.pdf"
        file_data = data_url("application/pdf", data)
        return {"type": "file", "file": {"filename": filename, "file_data": file_data}}
    raise InvalidRequest(
        f"{path}.source: document source {source_type!r} with media type "
        f"{source.get('media_type')!r} cannot be sent to an OpenAI-protocol backend",
        param=f"{path}.source",
    )


def _search_result_text(block: Mapping[str, Any], path: str) -> str:
    title = block.get("title")
    source = block.get("source")
    body = _texts_of(block.get("content"), f"{path}.content")
    header = "\n".join(str(item) for item in (title, source) if isinstance(item, str) and item)
    return f"{header}\n\n{body}" if header else body


def _texts_of(blocks: object, path: str) -> str:
    texts: list[str] = []
    for index, raw_block in enumerate(list_at(blocks, path, InvalidRequest)):
        block = mapping_at(raw_block, f"{path}[{index}]", InvalidRequest)
        if block.get("type") == "text":
            texts.append(str_at(block.get("text"), f"{path}[{index}].text", InvalidRequest))
    return "\n".join(texts)


def _tool_result(block: Mapping[str, Any], path: str) -> tuple[JsonObject, list[JsonObject]]:
    """The `tool` message for one tool_result block, and image parts it carried."""
    tool_use_id = str_at(block.get("tool_use_id"), f"{path}.tool_use_id", InvalidRequest)
    content = block.get("content")
    texts: list[str] = []
    images: list[JsonObject] = []
    if isinstance(content, str):
        texts.append(content)
    elif content is not None:
        for index, raw_inner in enumerate(list_at(content, f"{path}.content", InvalidRequest)):
            inner_path = f"{path}.content[{index}]"
            inner = mapping_at(raw_inner, inner_path, InvalidRequest)
            inner_type = _block_type(inner, inner_path)
            part = _content_part(inner, inner_type, inner_path)
            if part["type"] == "text":
                texts.append(str(part["text"]))
            else:
                images.append(part)
    text = "\n".join(texts)
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": tool_use_id, "content": text}, images


def _assistant_messages(blocks: list[Mapping[str, Any]], path: str) -> list[JsonObject]:
    texts: list[str] = []
    tool_calls: list[JsonObject] = []
    for index, block in enumerate(blocks):
        block_path = f"{path}[{index}]"
        block_type = _block_type(block, block_path)
        if block_type == "text":
            texts.append(str_at(block.get("text"), f"{block_path}.text", InvalidRequest))
        elif block_type == "tool_use":
            tool_calls.append(_tool_call(block, block_path))
        elif not _is_dropped_block(block_type):
            raise InvalidRequest(
                f"{block_path}.type: {block_type!r} blocks are not allowed in assistant messages "
                "sent to an OpenAI-protocol backend",
                param=f"{block_path}.type",
            )
    if not texts and not tool_calls:
        return []
    message: JsonObject = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return [message]


def _tool_call(block: Mapping[str, Any], path: str) -> JsonObject:
    call_id = str_at(block.get("id"), f"{path}.id", InvalidRequest)
    name = str_at(block.get("name"), f"{path}.name", InvalidRequest)
    arguments = input_to_arguments(block.get("input"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _copy_sampling(body: Mapping[str, Any], request: JsonObject) -> None:
    max_tokens = optional_int(body.get("max_tokens"), "max_tokens", InvalidRequest)
    if max_tokens is not None:
        request["max_tokens"] = max_tokens
    for key in ("temperature", "top_p"):
        value = optional_number(body.get(key), key, InvalidRequest)
        if value is not None:
            request[key] = value
    stops = body.get("stop_sequences")
    if stops is not None:
        stop_list = strings_at(stops, "stop_sequences", InvalidRequest)
        if stop_list:
            request["stop"] = stop_list
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        request["user"] = metadata["user_id"]


def _copy_tools(body: Mapping[str, Any], request: JsonObject) -> None:
    tools = body.get("tools")
    functions: list[JsonObject] = []
    if tools is not None:
        for index, tool in enumerate(list_at(tools, "tools", InvalidRequest)):
            function = _function(mapping_at(tool, f"tools[{index}]", InvalidRequest), index)
            if function is not None:
                functions.append(function)
    if not functions:
        return
    request["tools"] = functions
    choice = body.get("tool_choice")
    if choice is None:
        return
    choice = mapping_at(choice, "tool_choice", InvalidRequest)
    request["tool_choice"] = _tool_choice(choice)
    if choice.get("disable_parallel_tool_use") is True and choice.get("type") != "none":
        request["parallel_tool_calls"] = False


def _function(tool: Mapping[str, Any], index: int) -> JsonObject | None:
    path = f"tools[{index}]"
    if "input_schema" not in tool and tool.get("type") not in (None, "custom"):
        return None
    function: JsonObject = {"name": str_at(tool.get("name"), f"{path}.name", InvalidRequest)}
    description = tool.get("description")
    if isinstance(description, str) and description:
        function["description"] = description
    schema = mapping_at(tool.get("input_schema"), f"{path}.input_schema", InvalidRequest)
    function["parameters"] = dict(schema)
    if isinstance(tool.get("strict"), bool):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Mapping[str, Any]) -> str | JsonObject:
    choice_type = choice.get("type")
    if choice_type == "auto":
        return "auto"
    if choice_type == "any":
        return "required"
    if choice_type == "none":
        return "none"
    if choice_type == "tool":
        name = str_at(choice.get("name"), "tool_choice.name", InvalidRequest)
        return {"type": "function", "function": {"name": name}}
    raise InvalidRequest(
        f"tool_choice.type: expected 'auto', 'any', 'tool' or 'none', got {choice_type!r}",
        param="tool_choice.type",
    )
