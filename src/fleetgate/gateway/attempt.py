"""One attempt of a call on one backend, from begin to finish: the fleet half of settling.

An `Attempt` begins in the fleet state when it is made, with the call's token estimate (input plus
maximum output), and is finished there exactly once with that same count, so outstanding tokens
never drift. It ends in one of three ways:

- `unanswered`: the send failed or was cancelled before the headers came (with the verdict on the
  backend that failover chose; `ok=None` releases it without one);
- `release`: it answered but lost a hedge race (closed, released without a verdict);
- `finish`: it served the call, when the call settles (the backend judged unless the client went
  away, inter-token latency, end-to-end availability, hedge latency, the access log).

`first_token` records the time to first token for routing. This module holds the only calls to the
fleet state's `begin`, `first_token` and `finish`.
"""

from __future__ import annotations

import time

from fleetgate.errors import ApiError
from fleetgate.gateway.access_log import AccessRecord, AttemptRecord
from fleetgate.gateway.call import Call
from fleetgate.gateway.process import Gateway
from fleetgate.routing.router import RouteDecision
from fleetgate.seams import Usage
from fleetgate.translate.table import TRANSLATIONS, Translation
from fleetgate.upstream.client import UpstreamResponse


def attempt_tokens(call: Call) -> int:
    """The tokens an attempt books in the fleet state: input plus the most output it may make."""
    return max(call.estimated_input_tokens, 0) + max(call.max_tokens, 0)


class Attempt:
    """A call sent (or being sent) to one backend, booked in the fleet state until it ends."""

    __slots__ = (
        "backend",
        "call",
        "decision",
        "failure",
        "first_token_at",
        "gw",
        "record",
        "response",
        "sent_at",
        "tokens",
        "translation",
        "upstream",
    )

    response: UpstreamResponse
    """The upstream's answer, once `send` returned."""

    def __init__(
        self, gw: Gateway, call: Call, decision: RouteDecision, record: AccessRecord
    ) -> None:
        """Build the backend's request, then begin the attempt in the fleet state (a body that
        cannot be translated is refused before anything is booked)."""
        self.gw = gw
        self.call = call
        self.decision = decision
        self.backend = decision.backend
        self.record = record
        self.translation: Translation = TRANSLATIONS[call.api, self.backend.protocol]
        self.upstream = self.translation.request(
            call.body, self.backend.served_model, call.stream, call.client_headers
        )
        self.tokens = attempt_tokens(call)
        """The token count the fleet state was given at `begin`; `finish` gets the same."""
        self.first_token_at: float | None = None
        self.failure: ApiError | None = None
        """Set when the backend failed after answering (a broken stream): the backend's fault."""
        gw.fleet.begin(self.backend.id, self.tokens, gw.now())
        self.sent_at = time.monotonic()
        """`time.monotonic()` when the request was sent to the backend."""

    async def send(self) -> None:
        """Send the call; return when the response headers arrived. A failure propagates and the
        attempt stays booked: the caller ends it with `unanswered`."""
        backend, upstream = self.backend, self.upstream
        self.response = await self.gw.client.send(
            backend, upstream.path, upstream.body, upstream.headers
        )
        metrics = self.gw.metrics
        metrics.labelled(metrics.backend_requests, backend.id, backend.site_id, "ok").inc()
        self.record.attempts.append(AttemptRecord(backend.id, backend.site_id, "ok"))

    def unanswered(self, outcome: str, *, ok: bool | None) -> None:
        """End an attempt that never answered; `ok=None` releases it without a verdict."""
        gw, backend = self.gw, self.backend
        gw.fleet.finish(
            backend.id,
            ok=bool(ok),
            tokens=self.tokens,
            now=gw.now(),
            rng=gw.rng,
            record_outcome=ok is not None,
        )
        gw.fleet_runtime.queue.notify(self.call.model.id)
        gw.metrics.labelled(gw.metrics.backend_requests, backend.id, backend.site_id, outcome).inc()
        self.record.attempts.append(AttemptRecord(backend.id, backend.site_id, outcome))

    def release(self) -> None:
        """Drop an answer that lost the hedge race: close it, release its load without a verdict."""
        self.response.close()
        self.gw.fleet.finish(
            self.backend.id,
            ok=True,
            tokens=self.tokens,
            now=self.gw.now(),
            rng=self.gw.rng,
            record_outcome=False,
        )

    def fail(self, exc: BaseException) -> None:
        """Note that the backend failed after its headers (a client leaving is not a failure)."""
        if isinstance(exc, ApiError) and self.failure is None:
            self.failure = exc

    def first_token(self) -> None:
        """The first content of a stream reached the client: time to first token, for routing."""
        if self.first_token_at is not None:
            return
        self.first_token_at = time.monotonic()
        self.gw.fleet.first_token(
            self.backend.id, self.first_token_at - self.sent_at, self.gw.now()
        )
        self.record.ttft_s = self.first_token_at - self.call.started

    def finish(self, usage: Usage, ok: bool) -> None:
        """Release the serving attempt's load with the tokens it began with, judge the backend
        (a client that went away judges nothing), count end-to-end availability, write the log."""
        gw, call = self.gw, self.call
        ended = time.monotonic()
        failed = self.failure is not None
        judged = ok or failed
        itl_s = None
        if ok and self.first_token_at is not None and usage.output_tokens > 1:
            itl_s = (ended - self.first_token_at) / (usage.output_tokens - 1)
        gw.fleet.finish(
            self.backend.id,
            ok=ok,
            tokens=self.tokens,
            now=gw.now(),
            rng=gw.rng,
            itl_s=itl_s,
            record_outcome=judged,
        )
        gw.fleet_runtime.queue.notify(call.model.id)
        if judged:
            gw.fleet.health.record_request(ok=ok, now=gw.now())
        if ok and not call.stream:
            gw.fleet_runtime.hedges.observe(call.model.id, ended - self.sent_at)
        record = self.record
        record.outcome = "ok" if ok else ("failed" if failed else "client_gone")
        record.error = None if self.failure is None else type(self.failure).__name__
        record.input_tokens = usage.total_input_tokens
        record.output_tokens = usage.output_tokens
        record.duration_s = ended - call.started
        gw.fleet_runtime.access_log.write(record)
