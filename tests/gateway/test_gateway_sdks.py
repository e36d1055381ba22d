"""End to end with the official SDKs: a live gateway in front of simulated engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from gateway_harness import LiveFleet, live_fleet

WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    with live_fleet(Path(tmp_path_factory.mktemp("sdk"))) as running:
        yield running


@pytest.fixture
def claude(fleet: LiveFleet) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=fleet.url, api_key=fleet.key, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def gpt(fleet: LiveFleet) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=fleet.url + "/v1", api_key=fleet.key, max_retries=0)
    yield client
    client.close()


def test_anthropic_message(claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.create(
        model="claude-sonnet-sim",
        max_tokens=20,
        messages=[{"role": "user", "content": "Hello there"}],
    )
    message = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["x-fleetgate-site"] in {"site-0", "site-1"}
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-sim"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.usage.output_tokens == 12
    assert message.usage.input_tokens > 0
    assert message.stop_reason == "end_turn"


def test_anthropic_max_tokens_reached(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model="claude-sonnet-sim", max_tokens=5, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5


def test_anthropic_stream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="claude-sonnet-sim",
        max_tokens=20,
        messages=[{"role": "user", "content": "Stream please"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].type == "text"
    assert final.content[0].text == text
    assert final.usage.output_tokens == 12
    assert final.stop_reason == "end_turn"


def test_anthropic_tool_use(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model="claude-sonnet-sim",
        max_tokens=100,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert message.stop_reason == "tool_use"
    block = next(b for b in message.content if b.type == "tool_use")
    assert block.name == "get_weather"
    assert isinstance(block.input, dict) and "city" in block.input
    follow_up = claude.messages.create(
        model="claude-sonnet-sim",
        max_tokens=20,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [b.model_dump() for b in message.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "sunny"}],
            },
        ],
    )
    assert follow_up.stop_reason == "end_turn"


def test_anthropic_tool_use_stream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="claude-sonnet-sim",
        max_tokens=100,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    block = next(b for b in final.content if b.type == "tool_use")
    assert block.name == "get_weather" and "city" in block.input  # type: ignore[operator]


def test_count_tokens(claude: anthropic.Anthropic) -> None:
    small = claude.messages.count_tokens(
        model="claude-sonnet-sim", messages=[{"role": "user", "content": "hi"}]
    )
    large = claude.messages.count_tokens(
        model="claude-sonnet-sim",
        messages=[{"role": "user", "content": "hi " * 500}],
        tools=[WEATHER],
    )
    assert 0 < small.input_tokens < large.input_tokens


def test_openai_chat(gpt: openai.OpenAI) -> None:
    completion = gpt.chat.completions.create(
        model="claude-haiku-sim", max_tokens=30, messages=[{"role": "user", "content": "Hi"}]
    )
    assert completion.choices[0].message.content
    assert completion.model == "claude-haiku-sim"
    assert completion.usage is not None and completion.usage.completion_tokens == 12


def test_openai_stream_with_usage(gpt: openai.OpenAI) -> None:
    chunks = list(
        gpt.chat.completions.create(
            model="claude-haiku-sim",
            max_tokens=30,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12


def test_openai_stream_without_usage_hides_it(gpt: openai.OpenAI) -> None:
    chunks = list(
        gpt.chat.completions.create(
            model="claude-haiku-sim",
            max_tokens=30,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
        )
    )
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_openai_tools(gpt: openai.OpenAI) -> None:
    completion = gpt.chat.completions.create(
        model="claude-sonnet-sim",
        max_tokens=60,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": WEATHER["input_schema"]},
            }
        ],
        tool_choice="required",
    )
    call = completion.choices[0].message.tool_calls
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call and call[0].function.name == "get_weather"  # type: ignore[union-attr]


def test_models_listed_in_both_shapes(fleet: LiveFleet, gpt: openai.OpenAI) -> None:
    ids = {m.id for m in gpt.models.list()}
    assert ids == {"claude-sonnet-sim", "claude-haiku-sim"}
    response = httpx.get(
        fleet.url + "/v1/models",
        headers={"x-api-key": fleet.key, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 200
    assert {m["type"] for m in response.json()["data"]} == {"model"}


def test_unknown_model_is_not_found(claude: anthropic.Anthropic, gpt: openai.OpenAI) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(
            model="claude-nope", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        gpt.chat.completions.create(model="gpt-nope", messages=[{"role": "user", "content": "x"}])


def test_bad_key_is_authentication_error(fleet: LiveFleet) -> None:
    client = anthropic.Anthropic(base_url=fleet.url, api_key="fg-000000000000-nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(
            model="claude-sonnet-sim", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    client.close()
