"""The engine over real HTTP (uvicorn on loopback), driven with the official OpenAI SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from engine_testkit import RunningEngine, running_engine, user

from fleetgate.engine.chat_request import count_prompt_tokens
from fleetgate.tokens import count_tokens

MODEL = "sim-a"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


@pytest.fixture(scope="module")
def engine() -> Iterator[RunningEngine]:
    with running_engine(
        models=(MODEL, "sim-alias"), output_tokens=16, kv_capacity_tokens=3000, max_model_len=4096
    ) as running:
        yield running


@pytest.fixture
def client(engine: RunningEngine) -> Iterator[openai.OpenAI]:
    with engine.client(timeout=10) as sdk:
        yield sdk


def test_non_streaming_answer_has_exact_usage_and_is_deterministic(client: openai.OpenAI) -> None:
    messages = user("Tell me about GPUs.")
    first = client.chat.completions.create(model=MODEL, messages=messages)
    again = client.chat.completions.create(model=MODEL, messages=messages)
    choice = first.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == again.choices[0].message.content
    assert first.usage is not None
    assert first.usage.prompt_tokens == count_prompt_tokens(messages, None)
    assert first.usage.completion_tokens == 16 == count_tokens(choice.message.content or "")
    assert first.usage.total_tokens == first.usage.prompt_tokens + 16
    assert first.model == MODEL
    assert first.id.startswith("chatcmpl-")


def test_max_tokens_ignore_eos_and_stop(client: openai.OpenAI) -> None:
    short = client.chat.completions.create(model=MODEL, messages=user("x"), max_tokens=5)
    assert short.usage is not None
    assert (short.usage.completion_tokens, short.choices[0].finish_reason) == (5, "length")
    newer = client.chat.completions.create(model=MODEL, messages=user("x"), max_completion_tokens=3)
    assert newer.usage is not None
    assert newer.usage.completion_tokens == 3
    forced = client.chat.completions.create(
        model=MODEL, messages=user("x"), max_tokens=40, extra_body={"ignore_eos": True}
    )
    assert forced.usage is not None
    assert (forced.usage.completion_tokens, forced.choices[0].finish_reason) == (40, "length")
    full = client.chat.completions.create(model=MODEL, messages=user("x")).choices[0]
    text = full.message.content or ""
    stop = text[12:20]
    stopped = client.chat.completions.create(model=MODEL, messages=user("x"), stop=[stop])
    assert stopped.choices[0].message.content == text[: text.index(stop)]
    assert stopped.choices[0].finish_reason == "stop"


def test_streaming_with_usage_matches_the_non_streaming_answer(client: openai.OpenAI) -> None:
    messages = user("Stream this, please.")
    whole = client.chat.completions.create(model=MODEL, messages=messages)
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(chunk.usage is None for chunk in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert whole.usage is not None
    assert last.usage.prompt_tokens == whole.usage.prompt_tokens
    assert last.usage.completion_tokens == 16
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert text == whole.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert len({chunk.id for chunk in chunks}) == 1
    plain = list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
    assert all(chunk.choices for chunk in plain)  # no usage chunk unless asked


def test_stream_wire_format_is_sse_data_lines_ending_with_done(engine: RunningEngine) -> None:
    body = {
        "model": MODEL,
        "messages": user("wire"),
        "stream": True,
        "max_tokens": 2,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream("POST", f"{engine.url}/v1/chat/completions", json=body, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert all(event.startswith("data: {") for event in events[:-2])
    assert payloads[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "",
    }
    assert payloads[-2]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "length",
    }
    assert payloads[-1]["choices"] == []
    assert payloads[-1]["usage"]["completion_tokens"] == 2
    assert all(p["usage"] is None for p in payloads[:-1])
    assert all(p["object"] == "chat.completion.chunk" for p in payloads)


def test_tool_calls_non_streaming_and_streaming(client: openai.OpenAI) -> None:
    messages = user("What is the weather? [[call_tool]]")
    answer = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments["city"], str)
    assert isinstance(arguments["days"], int)
    assert answer.usage is not None
    assert answer.usage.completion_tokens == count_tokens(call.function.arguments)
    assert answer.usage.prompt_tokens == count_prompt_tokens(messages, [WEATHER])

    chunks = list(
        client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER], stream=True)
    )
    fragments = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or []) if c.choices]
    assert fragments[0].id
    assert fragments[0].function is not None
    assert fragments[0].function.name == "get_weather"
    assert all(f.id is None for f in fragments[1:])
    streamed = "".join((f.function.arguments or "") for f in fragments if f.function)
    assert streamed == call.function.arguments
    assert len(fragments) > 3
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_required_and_none(client: openai.OpenAI) -> None:
    required = client.chat.completions.create(
        model=MODEL, messages=user("no marker"), tools=[WEATHER], tool_choice="required"
    )
    assert required.choices[0].finish_reason == "tool_calls"
    auto = client.chat.completions.create(model=MODEL, messages=user("no marker"), tools=[WEATHER])
    assert auto.choices[0].message.tool_calls == []
    none = client.chat.completions.create(
        model=MODEL, messages=user("[[call_tool]]"), tools=[WEATHER], tool_choice="none"
    )
    assert none.choices[0].finish_reason == "stop"


def test_models_health_and_aliases(engine: RunningEngine, client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL, "sim-alias"]
    raw = httpx.get(f"{engine.url}/v1/models", timeout=5).json()
    assert raw["object"] == "list"
    entry = raw["data"][0]
    assert entry["object"] == "model"
    assert entry["owned_by"] == "fleetgate-engine"
    assert entry["max_model_len"] == 4096
    assert isinstance(entry["created"], int)
    alias = client.chat.completions.create(model="sim-alias", messages=user("hi"))
    assert alias.model == "sim-alias"
    assert httpx.get(f"{engine.url}/health", timeout=5).status_code == 200


def test_metrics_use_vllm_names_and_count_tokens(
    engine: RunningEngine, client: openai.OpenAI
) -> None:
    before = engine.metrics()
    answer = client.chat.completions.create(model=MODEL, messages=user("count me"), max_tokens=7)
    after = engine.metrics()
    label = f'{{model_name="{MODEL}"}}'
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:gpu_cache_usage_perc",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
    ):
        assert name + label in after
    assert answer.usage is not None
    key = "vllm:generation_tokens_total" + label
    assert after[key] - before[key] == 7
    key = "vllm:prompt_tokens_total" + label
    assert after[key] - before[key] == answer.usage.prompt_tokens
    success = f'vllm:request_success_total{{finished_reason="length",model_name="{MODEL}"}}'
    assert after[success] - before.get(success, 0) == 1
    assert 0.0 <= after["vllm:gpu_cache_usage_perc" + label] <= 1.0
    assert (
        httpx.get(f"{engine.url}/metrics", timeout=5)
        .headers["content-type"]
        .startswith("text/plain")
    )


def _post(engine: RunningEngine, content: bytes | None = None, **body: Any) -> httpx.Response:
    url = f"{engine.url}/v1/chat/completions"
    if content is not None:
        return httpx.post(url, content=content, timeout=5)
    return httpx.post(url, json=body, timeout=5)


def test_bad_input_is_a_400_in_openai_shape(engine: RunningEngine, client: openai.OpenAI) -> None:
    for response in (
        _post(engine, content=b"{not json"),
        _post(engine, content=b'"a string"'),
        _post(engine, model=MODEL),
        _post(engine, model=MODEL, messages="hello"),
        _post(engine, model=MODEL, messages=user("x"), max_tokens="many"),
        _post(engine, model=MODEL, messages=user("x"), temperature=0.2, stream=1),
    ):
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError, match="only n=1"):
        client.chat.completions.create(model=MODEL, messages=user("x"), n=2)
    with pytest.raises(openai.BadRequestError, match="KV cache"):
        client.chat.completions.create(model=MODEL, messages=user("x"), max_tokens=3500)
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client.chat.completions.create(model=MODEL, messages=user("x"), max_tokens=100_000)
    with pytest.raises(openai.NotFoundError, match="does not exist") as missing:
        client.chat.completions.create(model="gpt-4o", messages=user("x"))
    assert missing.value.code == "model_not_found"
    assert httpx.get(f"{engine.url}/v2/nothing", timeout=5).status_code == 404
    assert httpx.get(f"{engine.url}/v1/chat/completions", timeout=5).status_code == 405


def test_client_disconnect_mid_stream_frees_the_batch(engine: RunningEngine) -> None:
    body = {
        "model": MODEL,
        "messages": user("long"),
        "stream": True,
        "max_tokens": 2500,
        "ignore_eos": True,
    }
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{engine.url}/v1/chat/completions", json=body) as response,
    ):
        lines = response.iter_lines()
        for _ in range(8):
            next(lines)
        assert engine.metric("vllm:num_requests_running") == 1
        assert engine.metric("vllm:kv_cache_usage_perc") > 0
    assert _eventually(lambda: engine.metric("vllm:num_requests_running") == 0)
    assert engine.metric("vllm:kv_cache_usage_perc") == 0


def test_cancelled_non_streaming_request_frees_the_batch(engine: RunningEngine) -> None:
    body = {"model": MODEL, "messages": user("slow"), "max_tokens": 2500, "ignore_eos": True}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{engine.url}/v1/chat/completions", json=body, timeout=httpx.Timeout(10, read=0.3)
        )
    assert _eventually(lambda: engine.metric("vllm:num_requests_running") == 0)


def _eventually(condition: Any, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
