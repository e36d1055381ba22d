"""OpenAI Chat Completions request -> Anthropic Messages request (pure: dict in, dict out).

Mapping (OpenAI -> Anthropic):
- `system` and `developer` messages -> `system` (text joined with a blank line, wherever they sit);
- user parts: text -> text blocks (a `cache_control` on a part is kept), `image_url` with a base64
  `data:` URL -> base64 image block, http(s) URL -> url image block, `file` with a PDF `data:` URL
  -> base64 document block;
- assistant: text -> a text block, `tool_calls` -> `tool_use` blocks with parsed input (arguments
  that are not a JSON object are kept as `{"_raw": "..."}`);
- `tool` messages -> `tool_result` blocks in a user message;
- consecutive messages of one role are merged so roles alternate; empty text is dropped (the
  Messages API refuses empty text blocks) and so is a message left with no content;
- tool-call ids are made safe for Anthropic (`[A-Za-z0-9_-]`), the same way on both sides;
- `max_completion_tokens` or `max_tokens` (default 4096) -> `max_tokens`; `stop` (string or list)
  -> `stop_sequences`; `temperature` (clamped to Anthropic's 0..1), `top_p`, `top_k`; `user` ->
  `metadata.user_id`; `stream`; tools and `tool_choice`, `parallel_tool_calls: false` ->
  `disable_parallel_tool_use`;
- `n` > 1 is refused; legacy `function` messages are refused; other fields are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetgate.errors import InvalidRequest
from fleetgate.translate.common import (
    JsonObject,
    arguments_to_input,
    list_at,
    mapping_at,
    optional_int,
    optional_number,
    safe_tool_id,
    split_data_url,
    str_at,
    strings_at,
)

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` sent when an OpenAI request names none (Anthropic requires one)."""


def openai_to_anthropic_request(body: Mapping[str, Any], *, served_model: str) -> dict[str, Any]:
    """The Anthropic Messages request equivalent to OpenAI Chat Completions request `body`."""
    body = mapping_at(body, "body", InvalidRequest)
    n = optional_int(body.get("n"), "n", InvalidRequest)
    if n is not None and n != 1:
        raise InvalidRequest(
            "n: only one choice per request is supported by this backend (n must be 1)", param="n"
        )
    system_texts: list[str] = []
    turns: list[JsonObject] = []
    for index, raw_message in enumerate(list_at(body.get("messages"), "messages", InvalidRequest)):
        path = f"messages[{index}]"
        message = mapping_at(raw_message, path, InvalidRequest)
        role = message.get("role")
        if role in ("system", "developer"):
            text = _plain_text(message.get("content"), f"{path}.content")
            if text:
                system_texts.append(text)
            continue
        _append_turn(turns, *_turn(message, role, path))
    request: JsonObject = {"model": served_model, "max_tokens": _max_tokens(body)}
    if system_texts:
        request["system"] = "\n\n".join(system_texts)
    request["messages"] = turns
    _copy_sampling(body, request)
    _copy_tools(body, request)
    if body.get("stream") is True:
        request["stream"] = True
    return request


def _append_turn(turns: list[JsonObject], role: str, blocks: list[JsonObject]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _turn(message: Mapping[str, Any], role: object, path: str) -> tuple[str, list[JsonObject]]:
    if role == "user":
        return "user", _user_blocks(message.get("content"), f"{path}.content")
    if role == "assistant":
        return "assistant", _assistant_blocks(message, path)
    if role == "tool":
        return "user", [_tool_result(message, path)]
    if role == "function":
        raise InvalidRequest(
            f"{path}.role: legacy 'function' messages are not supported; use tools and 'tool' "
            "messages",
            param=f"{path}.role",
        )
    raise InvalidRequest(
        f"{path}.role: expected 'system', 'developer', 'user', 'assistant' or 'tool', got {role!r}",
        param=f"{path}.role",
    )


def _parts(content: object, path: str) -> list[Mapping[str, Any]]:
    """Message content as a list of parts (a string is one text part; null is none)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [
        mapping_at(part, f"{path}[{index}]", InvalidRequest)
        for index, part in enumerate(list_at(content, path, InvalidRequest))
    ]


def _plain_text(content: object, path: str) -> str:
    texts: list[str] = []
    for index, part in enumerate(_parts(content, path)):
        part_path = f"{path}[{index}]"
        if part.get("type") not in ("text", "refusal"):
            raise InvalidRequest(
                f"{part_path}.type: expected a text part, got {part.get('type')!r}",
                param=f"{part_path}.type",
            )
        key = "text" if part.get("type") == "text" else "refusal"
        texts.append(str_at(part.get(key), f"{part_path}.{key}", InvalidRequest))
    return "\n".join(texts)


def _text_block(part: Mapping[str, Any], path: str) -> JsonObject | None:
    text = str_at(part.get("text"), f"{path}.text", InvalidRequest)
    if not text:
        return None
    block: JsonObject = {"type": "text", "text": text}
    if isinstance(part.get("cache_control"), Mapping):
        block["cache_control"] = dict(part["cache_control"])
    return block


def _user_blocks(content: object, path: str) -> list[JsonObject]:
    blocks: list[JsonObject] = []
    for index, part in enumerate(_parts(content, path)):
        part_path = f"{path}[{index}]"
        part_type = part.get("type")
        if part_type == "text":
            block = _text_block(part, part_path)
            if block is not None:
                blocks.append(block)
        elif part_type == "image_url":
            blocks.append(_image_block(part, part_path))
        elif part_type == "file":
            blocks.append(_document_block(part, part_path))
        else:
            raise InvalidRequest(
                f"{part_path}.type: content part {part_type!r} cannot be sent to an "
                "Anthropic-protocol backend",
                param=f"{part_path}.type",
            )
    return blocks


def _image_block(part: Mapping[str, Any], path: str) -> JsonObject:
    image = part.get("image_url")
    raw_url = image.get("url") if isinstance(image, Mapping) else image
    url = str_at(raw_url, f"{path}.image_url.url", InvalidRequest)
    inline = split_data_url(url)
    if inline is not None:
        media_type, data = inline
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequest(
        f"{path}.image_url.url: expected a base64 data: URL or an http(s) URL",
        param=f"{path}.image_url.url",
    )


def _document_block(part: Mapping[str, Any], path: str) -> JsonObject:
    file = mapping_at(part.get("file"), f"{path}.file", InvalidRequest)
    file_data = file.get("file_data")
    inline = split_data_url(file_data) if isinstance(file_data, str) else None
    if inline is None:
        raise InvalidRequest(
            f"{path}.file.file_data: expected a base64 data: URL (file ids cannot be resolved "
            "by an Anthropic-protocol backend)",
            param=f"{path}.file.file_data",
        )
    media_type, data = inline
    block: JsonObject = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    if isinstance(file.get("filename"), str) and file["filename"]:
        block["title"] = file["filename"]
    return block


def _assistant_blocks(message: Mapping[str, Any], path: str) -> list[JsonObject]:
    blocks: list[JsonObject] = []
    text = _plain_text(message.get("content"), f"{path}.content")
    if text:
        blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    if calls is None:
        return blocks
    for index, raw_call in enumerate(list_at(calls, f"{path}.tool_calls", InvalidRequest)):
        call_path = f"{path}.tool_calls[{index}]"
        call = mapping_at(raw_call, call_path, InvalidRequest)
        function = mapping_at(call.get("function"), f"{call_path}.function", InvalidRequest)
        call_id = str_at(call.get("id"), f"{call_path}.id", InvalidRequest)
        name = str_at(function.get("name"), f"{call_path}.function.name", InvalidRequest)
        arguments = function.get("arguments")
        arguments_text = (
            str_at(arguments, f"{call_path}.function.arguments", InvalidRequest)
            if arguments is not None
            else ""
        )
        blocks.append(
            {
                "type": "tool_use",
                "id": safe_tool_id(call_id, f"toolu_{index}"),
                "name": name,
                "input": arguments_to_input(arguments_text),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any], path: str) -> JsonObject:
    call_id = str_at(message.get("tool_call_id"), f"{path}.tool_call_id", InvalidRequest)
    text = _plain_text(message.get("content"), f"{path}.content")
    block: JsonObject = {"type": "tool_result", "tool_use_id": safe_tool_id(call_id, "toolu_")}
    if text:
        block["content"] = text
    return block


def _max_tokens(body: Mapping[str, Any]) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = optional_int(body.get(key), key, InvalidRequest)
        if value is not None:
            if value < 1:
                raise InvalidRequest(f"{key}: expected a positive integer, got {value}", param=key)
            return value
    return DEFAULT_MAX_TOKENS


def _copy_sampling(body: Mapping[str, Any], request: JsonObject) -> None:
    temperature = optional_number(body.get("temperature"), "temperature", InvalidRequest)
    if temperature is not None:
        request["temperature"] = min(max(temperature, 0), 1)
    top_p = optional_number(body.get("top_p"), "top_p", InvalidRequest)
    if top_p is not None:
        request["top_p"] = top_p
    top_k = optional_int(body.get("top_k"), "top_k", InvalidRequest)
    if top_k is not None and top_k > 0:
        request["top_k"] = top_k
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is not None:
        sequences = [item for item in strings_at(stops, "stop", InvalidRequest) if item]
        if sequences:
            request["stop_sequences"] = sequences
    user = body.get("user")
    if isinstance(user, str) and user:
        request["metadata"] = {"user_id": user}


def _copy_tools(body: Mapping[str, Any], request: JsonObject) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    converted = [
        _tool(mapping_at(tool, f"tools[{index}]", InvalidRequest), f"tools[{index}]")
        for index, tool in enumerate(list_at(tools, "tools", InvalidRequest))
    ]
    if not converted:
        return
    request["tools"] = converted
    choice = _tool_choice(body.get("tool_choice"))
    if body.get("parallel_tool_calls") is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        request["tool_choice"] = choice


def _tool(tool: Mapping[str, Any], path: str) -> JsonObject:
    if tool.get("type", "function") != "function":
        raise InvalidRequest(
            f"{path}.type: only 'function' tools are supported, got {tool.get('type')!r}",
            param=f"{path}.type",
        )
    function = mapping_at(tool.get("function"), f"{path}.function", InvalidRequest)
    converted: JsonObject = {
        "name": str_at(function.get("name"), f"{path}.function.name", InvalidRequest)
    }
    description = function.get("description")
    if isinstance(description, str) and description:
        converted["description"] = description
    parameters = function.get("parameters")
    if parameters is None:
        converted["input_schema"] = {"type": "object", "properties": {}}
    else:
        converted["input_schema"] = dict(
            mapping_at(parameters, f"{path}.function.parameters", InvalidRequest)
        )
    if isinstance(function.get("strict"), bool):
        converted["strict"] = function["strict"]
    return converted


def _tool_choice(choice: object) -> JsonObject | None:
    if choice is None:
        return None
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        function = mapping_at(choice.get("function"), "tool_choice.function", InvalidRequest)
        name = str_at(function.get("name"), "tool_choice.function.name", InvalidRequest)
        return {"type": "tool", "name": name}
    raise InvalidRequest(
        "tool_choice: expected 'auto', 'required', 'none' or a named function", param="tool_choice"
    )
