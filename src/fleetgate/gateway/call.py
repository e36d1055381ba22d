"""One client request on its walk through the gateway, and its exactly-once settlement.

A `Call` carries what every stage needs (who asks, for which model, how, with which admission) so
the stages stay small functions. `Settlement` guarantees that a call's usage reaches the limiter
and the fleet state once, whichever path ends the request: success, upstream failure, client
disconnect or retry.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fleetgate.settings import ModelSettings, TenantSettings
from fleetgate.types import Usage

Api = Literal["anthropic", "openai"]


def new_request_id() -> str:
    """An id in the style of Anthropic's `req_...`."""
    return "req_" + secrets.token_hex(12)


@dataclass(slots=True)
class Call:
    """A client request being served."""

    request_id: str
    api: Api
    endpoint: str
    started: float
    tenant_id: str
    tenant: TenantSettings | None
    model: ModelSettings
    body: dict[str, Any]
    stream: bool
    max_tokens: int
    estimated_input_tokens: int
    include_usage: bool = False
    client_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)


SettleFn = Callable[[Usage, bool], Awaitable[None]]


class Settlement:
    """Runs the settle function at most once, with whatever usage was produced."""

    def __init__(self, settle: SettleFn) -> None:
        self._settle = settle
        self.done = False

    async def __call__(self, usage: Usage, ok: bool) -> bool:
        """Settle now; False (and nothing done) when already settled."""
        if self.done:
            return False
        self.done = True
        await self._settle(usage, ok)
        return True
