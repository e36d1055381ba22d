"""Server-sent events: an incremental decoder for upstream streams and the encoders for ours.

The decoder follows the WHATWG event-stream rules that matter to LLM streams: lines end in
`\\r\\n`, `\\n` or `\\r` (a `\\r` at the end of one chunk waits for the next to see whether a
`\\n` follows), `data:` lines of one event are joined with `\\n`, lines starting with `:` are
comments, one space after the colon is removed, `id:` and `retry:` are read and ignored, and an
event without any `data:` line is not dispatched. Unlike a browser, `flush()` also dispatches the
last event when the upstream closed without the final blank line.

Encoders: `encode_sse` writes one event; `anthropic_event_bytes` names the event after the
payload's `type` (Anthropic style); `openai_chunk_bytes` writes a bare `data:` line (OpenAI style),
and `OPENAI_DONE` is the OpenAI end marker (the gateway and the engine both use it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"

OPENAI_DONE_DATA = "[DONE]"
"""The data of the event that ends an OpenAI Chat Completions stream."""

OPENAI_DONE = b"data: " + OPENAI_DONE_DATA.encode() + b"\n\n"
"""The chunk that ends an OpenAI Chat Completions stream (the one home of this marker)."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its `event:` name (None when absent) and its joined data."""

    event: str | None
    data: str


class SSEDecoder:
    """Turns a byte stream, fed in chunks of any size, into `SSEEvent`s."""

    __slots__ = ("_data_lines", "_event_name", "_pending", "_started")

    def __init__(self) -> None:
        self._pending = b""
        self._started = False
        self._event_name: str | None = None
        self._data_lines: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by `chunk` (possibly none)."""
        buffer = self._pending + chunk if self._pending else bytes(chunk)
        if not self._started and buffer:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._pending = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        events: list[SSEEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            if match.end() == len(buffer) and match.group() == b"\r":
                break  # may be the first half of a \r\n split across chunks
            self._take_line(buffer[start : match.start()], events)
            start = match.end()
        self._pending = buffer[start:]
        return events

    def flush(self) -> list[SSEEvent]:
        """The events left when the stream ends, including one missing its final blank line."""
        events: list[SSEEvent] = []
        rest = self._pending
        self._pending = b""
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        if rest:
            self._take_line(rest, events)
        self._dispatch(events)
        return events

    def _take_line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if not raw:
            self._dispatch(events)
            return
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            return
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data_lines.append(value)
        elif field == "event":
            self._event_name = value

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data_lines:
            events.append(SSEEvent(self._event_name or None, "\n".join(self._data_lines)))
        self._event_name = None
        self._data_lines = []


def encode_sse(data: bytes | str, event: str | None = None) -> bytes:
    """One SSE event: an optional `event:` line, a `data:` line per line of data, a blank line."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    parts: list[bytes] = []
    if event is not None:
        if _LINE_END.search(event.encode("utf-8")):
            raise ValueError(f"an SSE event name cannot contain a line break: {event!r}")
        parts.append(b"event: " + event.encode("utf-8") + b"\n")
    for line in _LINE_END.split(raw):
        parts.append(b"data: " + line + b"\n")
    parts.append(b"\n")
    return b"".join(parts)


def anthropic_event_bytes(payload: Mapping[str, Any]) -> bytes:
    """An Anthropic stream event: `event: <type>` and the payload as JSON."""
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("an Anthropic stream event needs a non-empty string 'type'")
    body = orjson.dumps(payload if isinstance(payload, dict) else dict(payload))
    return b"event: " + event_type.encode("utf-8") + b"\ndata: " + body + b"\n\n"


def openai_chunk_bytes(payload: Mapping[str, Any]) -> bytes:
    """An OpenAI stream chunk: a bare `data:` line with the payload as JSON."""
    body = orjson.dumps(payload if isinstance(payload, dict) else dict(payload))
    return b"data: " + body + b"\n\n"
