"""Tests for parsing raw request bodies: content types, UTF-8, malformed JSON, non-objects."""

from __future__ import annotations

import orjson
import pytest

from fleetgate.api.json_body import parse_json_body
from fleetgate.errors import InvalidRequest, UnsupportedMediaType


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/vnd.api+json",
        None,
        "",
    ],
)
def test_json_content_types_are_parsed(content_type: str | None) -> None:
    assert parse_json_body(b'{"model": "m", "x": [1]}', content_type) == {"model": "m", "x": [1]}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_other_content_types_are_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        parse_json_body(b'{"model": "m"}', content_type)
    assert "application/json" in caught.value.message
    assert content_type.split(";", maxsplit=1)[0] in caught.value.message


def test_invalid_utf8_is_named() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json_body(b'{"text": "\xff\xfe"}', "application/json")
    assert caught.value.message == "request body is not valid UTF-8"


def test_malformed_json_gives_the_position() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json_body(b'{\n  "model": "m",,\n}', "application/json")
    message = caught.value.message
    assert message.startswith("request body is not valid JSON: ")
    assert "line 2 column 16" in message
    assert "(char 17)" in message
    assert not isinstance(caught.value, UnsupportedMediaType)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(b"[1, 2]", "an array"), (b'"text"', "a string"), (b"null", "null"), (b"3", "a number")],
)
def test_top_level_must_be_an_object(raw: bytes, kind: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json_body(raw, "application/json")
    assert caught.value.message == f"request body must be a JSON object, got {kind}"


@pytest.mark.parametrize("raw", [b"", b"  \n"])
def test_empty_body_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequest, match="request body is empty"):
        parse_json_body(raw, "application/json")


def test_large_bodies_with_unicode_round_trip() -> None:
    body = {"messages": [{"role": "user", "content": "héllo wörld ✓ " * 20_000}]}
    raw = orjson.dumps(body)
    assert len(raw) > 300_000
    assert parse_json_body(raw, "application/json") == body
