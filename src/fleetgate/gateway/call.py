"""One client request on its walk through the gateway: the `Call`.

A `Call` carries what every stage needs (who asks, for which model, how, with which admission) so
the stages stay small functions. Its request id was made at the front door.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetgate.settings import ModelSettings, TenantSettings
from fleetgate.translate.table import Api


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
    """The client's `FORWARDED_ANTHROPIC_HEADERS` that were set (the front door picked them)."""
    response_headers: dict[str, str] = field(default_factory=dict)
