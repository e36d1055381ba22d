"""The gateway's access log: one JSON line per client request, with its routing decision.

Written when a request is settled (answered, failed mid-stream, or abandoned by its client) or
refused before reaching any backend, on the `fleetgate.access` logger at INFO level, so the
operator chooses where it goes with ordinary logging configuration. Each record names the backend,
pool and site that served the request, why the router chose it (policy, spillover tier, how many
backends were allowed, routable and open), every attempt made on the way (failover), the outcome
and the tokens used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from fleetgate.routing.router import RouteDecision

ACCESS_LOGGER = "fleetgate.access"


@dataclass(slots=True)
class AttemptRecord:
    """One try on one backend, for the access log."""

    backend: str
    site: str
    outcome: str

    def as_dict(self) -> dict[str, str]:
        return {"backend": self.backend, "site": self.site, "outcome": self.outcome}


@dataclass(slots=True)
class AccessRecord:
    """Everything the access log says about one client request."""

    request_id: str
    tenant: str
    model: str
    endpoint: str
    stream: bool
    priority: int
    outcome: str = "ok"
    error: str | None = None
    decision: RouteDecision | None = None
    """Flattened only when the line is written, off the request's path."""
    attempts: list[AttemptRecord] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    queued_s: float = 0.0
    ttft_s: float | None = None
    duration_s: float | None = None
    hedged: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON object written to the log."""
        return {
            "event": "request",
            "request_id": self.request_id,
            "tenant": self.tenant,
            "model": self.model,
            "endpoint": self.endpoint,
            "stream": self.stream,
            "priority": self.priority,
            "outcome": self.outcome,
            "error": self.error,
            "decision": None if self.decision is None else self.decision.as_log(),
            "attempts": [attempt.as_dict() for attempt in self.attempts],
            "hedged": self.hedged,
            "queued_s": round(self.queued_s, 6),
            "ttft_s": None if self.ttft_s is None else round(self.ttft_s, 6),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 6),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


class AccessLog:
    """Writes `AccessRecord`s as JSON lines to the `fleetgate.access` logger."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def write(self, record: AccessRecord) -> None:
        """Log `record` when the logger is enabled for INFO (free when it is not)."""
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info(orjson.dumps(record.as_dict()).decode())
