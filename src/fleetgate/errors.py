"""The one exception tree of fleetgate, and the table that maps each type to an HTTP answer.

    FleetgateError
    ├── ConfigurationError          a settings file or option is wrong (startup, CLI; never HTTP)
    ├── ApiError                    anything that becomes an HTTP error answer
    │   ├── InvalidRequest          400 invalid_request_error   (bad JSON, wrong types, bad values)
    │   │   └── UnsupportedMediaType  415 (content type is not application/json)
    │   ├── AuthenticationFailed    401 authentication_error    (missing or unknown API key)
    │   ├── PermissionDenied        403 permission_error        (key may not do this)
    │   ├── NotFound                404 not_found_error         (unknown model or path)
    │   ├── RequestTooLarge         413 request_too_large       (body over the configured limit)
    │   ├── RateLimited             429 rate_limit_error        (a plan window or tier bucket)
    │   ├── Overloaded              529 overloaded_error        (OpenAI endpoint: 503)
    │   ├── NoAllowedPool           503 overloaded_error        (placement allows no healthy pool)
    │   ├── UpstreamError           502 api_error               (a backend failed)
    │   │   ├── UpstreamUnavailable   502 (connect refused, reset, DNS)
    │   │   ├── UpstreamTimeout       504 (no answer in time)
    │   │   └── UpstreamStatus        the backend answered with an error status
    │   └── InternalError           500 api_error               (a true internal fault)
    └── StoreUnavailable            the limits/state store cannot be reached

HTTP status and API error types are chosen by exception *type* through `ERROR_TABLE`, never by
message text. Each API shell (Anthropic, OpenAI) renders the same exception in its own JSON shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class FleetgateError(Exception):
    """Base of every error fleetgate raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(FleetgateError):
    """A settings file, scenario or option is invalid; the message names the key path."""


class StoreUnavailable(FleetgateError):
    """The limits or state store cannot be reached."""


class ApiError(FleetgateError):
    """An error that becomes an HTTP answer in the API's own error shape."""

    def __init__(
        self,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.headers: dict[str, str] = dict(headers or {})
        self.param = param
        self.code = code


class InvalidRequest(ApiError):
    """The request is malformed: bad JSON, a wrong type, a missing or out-of-range field."""


class UnsupportedMediaType(InvalidRequest):
    """The body is not declared as JSON."""


class AuthenticationFailed(ApiError):
    """No API key, or one that is unknown or revoked."""


class PermissionDenied(ApiError):
    """The key is valid but may not do this."""


class NotFound(ApiError):
    """Unknown model, path or resource."""


class RequestTooLarge(ApiError):
    """The body exceeds the configured byte limit."""


class RateLimited(ApiError):
    """A plan window or tier bucket refuses the request; headers carry the limit state."""

    def __init__(
        self,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        openai_type: str = "requests",
        code: str | None = "rate_limit_exceeded",
        openai_message: str | None = None,
    ) -> None:
        super().__init__(message, headers=headers, code=code)
        self.openai_type = openai_type
        self.openai_message = openai_message if openai_message is not None else message


class Overloaded(ApiError):
    """Every allowed pool is saturated: the fleet, not the tenant, is the limit."""


class NoAllowedPool(ApiError):
    """The tenant's placement policy leaves no healthy pool serving this model."""


class UpstreamError(ApiError):
    """A backend failed to answer properly."""


class UpstreamUnavailable(UpstreamError):
    """The backend could not be reached (connection refused or reset)."""


class UpstreamTimeout(UpstreamError):
    """The backend did not answer in time."""


class UpstreamStatus(UpstreamError):
    """The backend answered with an error status; `status` is what it said."""

    def __init__(self, message: str, *, status: int, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class InternalError(ApiError):
    """A fault inside fleetgate itself."""


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """How one exception type is answered on each API."""

    status: int
    anthropic_type: str
    openai_status: int
    openai_type: str


ERROR_TABLE: Mapping[type[ApiError], ErrorSpec] = MappingProxyType(
    {
        InvalidRequest: ErrorSpec(400, "invalid_request_error", 400, "invalid_request_error"),
        UnsupportedMediaType: ErrorSpec(415, "invalid_request_error", 415, "invalid_request_error"),
        AuthenticationFailed: ErrorSpec(401, "authentication_error", 401, "invalid_request_error"),
        PermissionDenied: ErrorSpec(403, "permission_error", 403, "permission_error"),
        NotFound: ErrorSpec(404, "not_found_error", 404, "invalid_request_error"),
        RequestTooLarge: ErrorSpec(413, "request_too_large", 413, "invalid_request_error"),
        RateLimited: ErrorSpec(429, "rate_limit_error", 429, "requests"),
        Overloaded: ErrorSpec(529, "overloaded_error", 503, "server_error"),
        NoAllowedPool: ErrorSpec(503, "overloaded_error", 503, "server_error"),
        UpstreamError: ErrorSpec(502, "api_error", 502, "server_error"),
        UpstreamUnavailable: ErrorSpec(502, "api_error", 502, "server_error"),
        UpstreamTimeout: ErrorSpec(504, "api_error", 504, "server_error"),
        UpstreamStatus: ErrorSpec(502, "api_error", 502, "server_error"),
        InternalError: ErrorSpec(500, "api_error", 500, "server_error"),
    }
)


def spec_for(error: ApiError) -> ErrorSpec:
    """The answer for `error`: the table entry of its most specific class."""
    for cls in type(error).__mro__:
        spec = ERROR_TABLE.get(cls)
        if spec is not None:
            return spec
    return ERROR_TABLE[InternalError]
