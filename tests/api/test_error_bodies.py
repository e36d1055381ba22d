"""Tests for the exact error bodies and statuses of both APIs."""

from __future__ import annotations

import orjson
import pytest

from fleetgate.api.error_bodies import anthropic_error_body, openai_error_body, status_for
from fleetgate.errors import (
    ApiError,
    AuthenticationFailed,
    InternalError,
    InvalidRequest,
    NoAllowedPool,
    NotFound,
    Overloaded,
    RateLimited,
    RequestTooLarge,
    UnsupportedMediaType,
    UpstreamTimeout,
)


def test_anthropic_body_has_the_exact_shape() -> None:
    error = InvalidRequest("max_tokens: Field required", param="max_tokens")
    body = orjson.loads(anthropic_error_body(error, "req_011CSHoEeqs5C35K2UUqR7Fy"))
    assert body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
    assert list(body) == ["type", "error", "request_id"]


def test_openai_body_has_the_exact_shape() -> None:
    error = InvalidRequest(
        "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
    )
    assert orjson.loads(openai_error_body(error)) == {
        "error": {
            "message": "Missing required parameter: 'model'.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "missing_required_parameter",
        }
    }


def test_openai_body_keeps_nulls() -> None:
    body = orjson.loads(openai_error_body(InternalError("boom")))
    assert body == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None}
    }


@pytest.mark.parametrize(("openai_type", "message"), [("tokens", "TPM"), ("requests", "RPM")])
def test_rate_limit_bodies(openai_type: str, message: str) -> None:
    error = RateLimited(message, headers={"retry-after": "3"}, openai_type=openai_type)
    assert orjson.loads(openai_error_body(error))["error"] == {
        "message": message,
        "type": openai_type,
        "param": None,
        "code": "rate_limit_exceeded",
    }
    anthropic = orjson.loads(anthropic_error_body(error, "req_1"))
    assert anthropic["error"] == {"type": "rate_limit_error", "message": message}


def test_openai_code_comes_from_the_error() -> None:
    error = NotFound("The model 'x' does not exist", code="model_not_found", param="model")
    body = orjson.loads(openai_error_body(error))["error"]
    assert (body["type"], body["code"], body["param"]) == (
        "invalid_request_error",
        "model_not_found",
        "model",
    )
    auth = orjson.loads(openai_error_body(AuthenticationFailed("bad key", code="invalid_api_key")))
    assert auth["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("error", "anthropic_status", "openai_status", "anthropic_type"),
    [
        (InvalidRequest("x"), 400, 400, "invalid_request_error"),
        (UnsupportedMediaType("x"), 415, 415, "invalid_request_error"),
        (AuthenticationFailed("x"), 401, 401, "authentication_error"),
        (NotFound("x"), 404, 404, "not_found_error"),
        (RequestTooLarge("x"), 413, 413, "request_too_large"),
        (RateLimited("x"), 429, 429, "rate_limit_error"),
        (Overloaded("Overloaded"), 529, 503, "overloaded_error"),
        (NoAllowedPool("x"), 503, 503, "overloaded_error"),
        (UpstreamTimeout("x"), 504, 504, "api_error"),
        (InternalError("x"), 500, 500, "api_error"),
        (ApiError("x"), 500, 500, "api_error"),
    ],
)
def test_status_and_type_come_from_the_table(
    error: ApiError, anthropic_status: int, openai_status: int, anthropic_type: str
) -> None:
    assert status_for(error, "anthropic") == anthropic_status
    assert status_for(error, "openai") == openai_status
    assert orjson.loads(anthropic_error_body(error, "r"))["error"]["type"] == anthropic_type


def test_overloaded_body_matches_the_real_api() -> None:
    body = orjson.loads(anthropic_error_body(Overloaded("Overloaded"), "req_2"))
    assert body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    openai = orjson.loads(openai_error_body(Overloaded("Overloaded")))
    assert openai["error"]["type"] == "server_error"
