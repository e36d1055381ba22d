"""The CLI's client of a running gateway's admin API: the `--url` and `--admin-key` options and
`admin_call`, one JSON request over httpx.

The admin key comes from `--admin-key` or the FLEETGATE_ADMIN_KEY environment variable. Errors
(gateway unreachable, refused key, unknown backend) print one `error:` line and exit with status 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

UrlOption = Annotated[
    str, typer.Option("--url", help="The gateway's base URL.", envvar="FLEETGATE_URL")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--admin-key", help="The admin key.", envvar="FLEETGATE_ADMIN_KEY"),
]
DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT_S = 10.0


def fail(message: str) -> typer.Exit:
    """Print `error: MESSAGE` on stderr; the exit (status 1) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def admin_call(
    method: str, url: str, path: str, key: str | None, body: dict[str, Any] | None = None
) -> Any:
    """One admin API call; the JSON answer, or a clean exit with the gateway's message."""
    if not key:
        raise fail("an admin key is required: --admin-key or FLEETGATE_ADMIN_KEY")
    try:
        response = httpx.request(
            method,
            url.rstrip("/") + path,
            json=body,
            headers={"x-api-key": key},
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the gateway at {url}: {exc}") from None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 400:
        message = response.text[:300]
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            message = str(payload["error"].get("message", message))
        raise fail(f"the gateway answered {response.status_code}: {message}")
    return payload
