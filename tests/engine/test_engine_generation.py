"""Unit tests of request validation, prompt counting and the deterministic answer plans."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetgate.engine.chat_request import (
    EngineChatRequest,
    count_prompt_tokens,
    parse_chat_request,
    prompt_text,
)
from fleetgate.engine.generation import plan_output, resolve_max_tokens, tool_arguments
from fleetgate.engine.options import EngineOptions
from fleetgate.errors import ApiError, ConfigurationError, InvalidRequest, NotFound
from fleetgate.tokens import count_tokens, filler

MODELS = ("sim-a", "sim-b")
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "unit": {"enum": ["c", "f"]},
                "note": {"type": "string"},
            },
            "required": ["city", "days", "metric", "unit"],
        },
    },
}


def parse(**body: Any) -> EngineChatRequest:
    body.setdefault("model", "sim-a")
    body.setdefault("messages", [{"role": "user", "content": "hello world"}])
    return parse_chat_request(orjson.dumps(body), MODELS)


def plan(request: EngineChatRequest, output_tokens: int = 16, max_model_len: int = 1000):
    max_tokens = resolve_max_tokens(
        request, max_model_len=max_model_len, kv_capacity_tokens=max_model_len
    )
    return plan_output(request, max_tokens=max_tokens, output_tokens=output_tokens)


def test_prompt_counts_every_message_text_and_the_tool_definitions() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "what is"}, {"type": "image_url"}]},
    ]
    assert prompt_text(messages, None) == "be brief\nwhat is"
    with_tools = count_prompt_tokens(messages, [WEATHER])
    assert with_tools == count_tokens("be brief\nwhat is\n" + orjson.dumps([WEATHER]).decode())
    assert parse(messages=messages, tools=[WEATHER]).prompt_tokens == with_tools


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": 7}, "model"),
        ({"max_tokens": "ten"}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": True}, "max_completion_tokens"),
        ({"n": 2}, "n"),
        ({"stream": "yes"}, "stream"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"stop": [""]}, "stop"),
        ({"tools": [{"type": "function"}]}, "tools[0]"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "tool_choice",
        ),
    ],
)
def test_bad_fields_are_invalid_requests_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(**body)
    assert caught.value.param == param


def test_malformed_json_unknown_model_and_defaults() -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_chat_request(b"{nope", MODELS)
    with pytest.raises(InvalidRequest, match="JSON object"):
        parse_chat_request(b"[1]", MODELS)
    with pytest.raises(NotFound, match="does not exist"):
        parse(model="gpt-4o")
    request = parse_chat_request(b'{"messages":[{"role":"user","content":"hi"}]}', MODELS)
    assert request.model == "sim-a"
    assert parse(max_tokens=5, max_completion_tokens=9).max_tokens == 9


def test_answers_are_deterministic_filler_of_the_right_length() -> None:
    first, again = plan(parse()), plan(parse())
    assert first == again
    assert first.length == 16
    assert first.finish_reason == "stop"
    assert count_tokens(first.text(first.length)) == 16
    other = plan(parse(messages=[{"role": "user", "content": "another prompt"}]))
    assert other.text(other.length) != first.text(first.length)
    assert plan(parse(max_tokens=5)).length == 5
    assert plan(parse(max_tokens=5)).finish_reason == "length"
    forced = plan(parse(max_tokens=40, ignore_eos=True))
    assert (forced.length, forced.finish_reason) == (40, "length")
    # without max_tokens the limit is the context left, which 16 tokens do not reach
    assert plan(parse(), output_tokens=16).finish_reason == "stop"


def test_stop_strings_cut_the_text_and_pieces_never_overshoot() -> None:
    full = plan(parse()).text(16)
    stop = full[10:18]
    stopped = plan(parse(stop=[stop, "never-appears"]))
    assert stopped.finish_reason == "stop"
    assert stopped.text(stopped.length) == full[: full.index(stop)]
    assert stopped.length < 16
    assert plan(parse(stop="never-appears")).text(16) == full


def test_context_and_kv_limits() -> None:
    request = parse(max_tokens=990)
    with pytest.raises(InvalidRequest, match="maximum context length is 100 tokens"):
        resolve_max_tokens(request, max_model_len=100, kv_capacity_tokens=5000)
    with pytest.raises(InvalidRequest, match="KV cache"):
        resolve_max_tokens(request, max_model_len=5000, kv_capacity_tokens=100)
    assert resolve_max_tokens(
        parse(), max_model_len=5000, kv_capacity_tokens=100
    ) == 100 - count_tokens("hello world")
    with pytest.raises(InvalidRequest, match="maximum context length"):
        resolve_max_tokens(parse(), max_model_len=2, kv_capacity_tokens=100)


def test_tool_calls_follow_choice_and_marker() -> None:
    second = {"type": "function", "function": {"name": "second", "parameters": {}}}
    tools = [WEATHER, second]
    assert plan(parse(tools=tools)).tool_call is None
    marked = [{"role": "user", "content": "please [[call_tool]]"}]
    by_marker = plan(parse(tools=tools, messages=marked))
    assert by_marker.tool_call is not None
    assert by_marker.tool_call.name == "get_weather"
    assert by_marker.finish_reason == "tool_calls"
    assert by_marker.length == count_tokens(by_marker.tool_call.arguments)
    named = {"type": "function", "function": {"name": "second"}}
    by_name = plan(parse(tools=tools, tool_choice=named)).tool_call
    assert by_name is not None
    assert (by_name.name, by_name.arguments) == ("second", "{}")
    assert plan(parse(tools=tools, messages=marked, tool_choice="none")).tool_call is None
    truncated = plan(parse(tools=tools, tool_choice="required", max_tokens=3))
    assert (truncated.length, truncated.finish_reason) == (3, "length")


def test_tool_arguments_fill_required_properties_by_type() -> None:
    schema = WEATHER["function"]["parameters"]  # type: ignore[index]
    arguments = tool_arguments(schema, seed=12345)
    assert set(arguments) == {"city", "days", "metric", "unit"}
    assert isinstance(arguments["city"], str)
    assert arguments["city"]
    assert arguments["city"] in filler(30, 12345)
    assert isinstance(arguments["days"], int)
    assert isinstance(arguments["metric"], bool)
    assert arguments["unit"] in ("c", "f")
    assert tool_arguments(schema, seed=12345) == arguments
    assert tool_arguments({"required": "nonsense"}, seed=1) == {}


def test_options_validation_names_the_option() -> None:
    with pytest.raises(ConfigurationError, match="--max-batch: expected a positive integer"):
        EngineOptions(max_batch=0)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = st.sampled_from(
    [
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "n",
        "stream",
        "stream_options",
        "stop",
        "ignore_eos",
        "tools",
        "tool_choice",
    ]
)
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool", "x"]), "content": _JSON},
    optional={"tool_calls": _JSON},
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(_FIELDS, _JSON, max_size=5),
    messages=st.lists(_MESSAGE, max_size=3),
    tools=st.lists(
        st.fixed_dictionaries({"type": st.just("function"), "function": _JSON}), max_size=2
    ),
)
def test_arbitrary_bodies_give_an_answer_or_an_api_error(
    fields: dict[str, Any], messages: list[Any], tools: list[Any]
) -> None:
    body = {"model": "sim-a", "messages": messages, "tools": tools, **fields}
    try:
        request = parse_chat_request(orjson.dumps(body), MODELS)
        answer = plan(request)
    except ApiError:
        return
    assert answer.length >= 1
