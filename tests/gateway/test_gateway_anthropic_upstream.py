"""An Anthropic-compatible backend behind the gateway: passthrough and translation to OpenAI.

The backend is a small recording ASGI app speaking the Messages API (JSON and SSE), so the tests
can check what the gateway forwarded (body fields, anthropic-version/-beta) and what clients get.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from gateway_harness import LiveFleet, ServerThread, live_fleet

from anthropic_events import text_delta
from conftest import free_port


class FakeAnthropic:
    """Answers /v1/messages like the real API and remembers every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] != "/v1/messages":  # health probes and metrics scrapes
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        request = json.loads(body) if body else {}
        self.requests.append((headers, request))
        if request.get("stream"):
            await self._stream(send, request)
        else:
            await self._json(send, request)

    async def _json(self, send: Any, request: dict[str, Any]) -> None:
        answer = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": [{"type": "text", "text": "Hello from upstream"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 21, "output_tokens": 4},
        }
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    async def _stream(self, send: Any, request: dict[str, Any]) -> None:
        events = [
            {
                "type": "message_start",
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": request["model"],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 21, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {"type": "ping"},
            text_delta(0, "Hello"),
            text_delta(0, " there"),
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 2},
            },
            {"type": "message_stop"},
        ]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for event in events:
            chunk = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeAnthropic, int]]:
    app = FakeAnthropic()
    port = free_port()
    server = ServerThread(app, port).start()
    yield app, port
    server.stop()


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, upstream: tuple[FakeAnthropic, int]
) -> Iterator[LiveFleet]:
    _, port = upstream

    def anthropic_only(mapping: dict[str, Any]) -> dict[str, Any]:
        mapping["models"].append(
            {"id": "claude-real", "family": "sonnet", "upstream_model": "claude-sonnet-4-5"}
        )
        mapping["sites"][0]["pools"].append(
            {
                "id": "anthropic-pool",
                "gpu": "h100-sxm",
                "gpus": 8,
                "model": "claude-real",
                "backends": [{"url": f"http://127.0.0.1:{port}", "protocol": "anthropic"}],
            }
        )
        return mapping

    with live_fleet(Path(tmp_path_factory.mktemp("anth")), mapping_hook=anthropic_only) as f:
        yield f


def test_passthrough_forwards_fields_and_headers(
    fleet: LiveFleet, upstream: tuple[FakeAnthropic, int]
) -> None:
    app, _ = upstream
    client = anthropic.Anthropic(base_url=fleet.url, api_key=fleet.key, max_retries=0)
    message = client.messages.create(
        model="claude-real",
        max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
        metadata={"user_id": "u1"},
        extra_headers={
            "anthropic-beta": "context-management-2025-06-27",
            "anthropic-version": "2023-06-01",
        },
        extra_body={"context_management": {"edits": []}, "some_future_field": 7},
    )
    headers, body = app.requests[-1]
    assert body["model"] == "claude-sonnet-4-5"
    assert body["context_management"] == {"edits": []} and body["some_future_field"] == 7
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "context-management-2025-06-27"
    assert message.model == "claude-real"
    assert message.content[0].text == "Hello from upstream"  # type: ignore[union-attr]
    assert message.usage.input_tokens == 21
    client.close()


def test_passthrough_stream_keeps_events_and_renames_the_model(fleet: LiveFleet) -> None:
    client = anthropic.Anthropic(base_url=fleet.url, api_key=fleet.key, max_retries=0)
    with client.messages.stream(
        model="claude-real", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello there"
    assert final.model == "claude-real"
    assert final.usage.output_tokens == 2
    client.close()


def test_openai_client_on_an_anthropic_backend(
    fleet: LiveFleet, upstream: tuple[FakeAnthropic, int]
) -> None:
    app, _ = upstream
    client = openai.OpenAI(base_url=fleet.url + "/v1", api_key=fleet.key, max_retries=0)
    completion = client.chat.completions.create(
        model="claude-real",
        max_tokens=40,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    )
    _, body = app.requests[-1]
    assert body["system"] == "be brief" or body["system"][0]["text"] == "be brief"
    assert body["max_tokens"] == 40
    assert completion.choices[0].message.content == "Hello from upstream"
    assert completion.usage is not None and completion.usage.completion_tokens == 4
    chunks = list(
        client.chat.completions.create(
            model="claude-real",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 2
    client.close()
