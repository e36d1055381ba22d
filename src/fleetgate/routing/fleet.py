"""The live fleet: its static index, its load and its health, grouped for the callers that run it.

`Fleet` is mutable and owned by whoever runs the fleet (the gateway process or the simulator);
there are no globals. It holds `index` (`fleetgate.routing.index`: what never changes), `load`
(`fleetgate.routing.load`: what changes with each request and scrape), `health`
(`fleetgate.routing.health`: breakers, probes, drains, routable mask, availability) and `view`
(`fleetgate.routing.view`: what policies read). Its own methods are the per-attempt bookkeeping
that touches load and health together: `begin`, `first_token`, `finish`, each looking the backend
up once. Every method takes `now`; `finish` takes the `random.Random` that jitters a breaker that
opens.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

from fleetgate.routing.config import RoutingSettings
from fleetgate.routing.health import FleetHealth
from fleetgate.routing.index import Backend, FleetIndex, unknown_backend
from fleetgate.routing.load import FleetLoad
from fleetgate.routing.view import FleetView


class FleetFile(Protocol):
    """What `Fleet.from_settings` reads (`fleetgate.settings.Settings` is one)."""

    @property
    def routing(self) -> RoutingSettings: ...
    def backends(self) -> tuple[Backend, ...]: ...


class Fleet:
    """Index, load and health of every backend; the one object the router reads and shells feed."""

    __slots__ = ("health", "index", "load", "routing", "view")

    def __init__(self, backends: Sequence[Backend], routing: RoutingSettings | None = None) -> None:
        self.routing = routing or RoutingSettings()
        self.index = FleetIndex(backends)
        self.load = FleetLoad(self.index, self.routing)
        self.health = FleetHealth(self.index, self.routing)
        self.view = FleetView(self.index, self.load)

    @classmethod
    def from_settings(cls, settings: FleetFile) -> Fleet:
        """Every backend of `settings` (a `fleetgate.settings.Settings`), all idle and healthy."""
        return cls(settings.backends(), settings.routing)

    def begin(self, backend_id: str, tokens: int, now: float) -> None:
        """A request of `tokens` estimated tokens (input + max output) was sent to a backend."""
        try:
            i = self.index.positions[backend_id]
        except KeyError:
            raise unknown_backend(backend_id) from None
        self.load.begin(i, tokens)
        self.health.on_begin(i, now)

    def first_token(self, backend_id: str, ttft_s: float, now: float) -> None:
        """The backend produced its first token `ttft_s` after the request was sent."""
        try:
            i = self.index.positions[backend_id]
        except KeyError:
            raise unknown_backend(backend_id) from None
        self.load.first_token(i, ttft_s, now)

    def finish(
        self,
        backend_id: str,
        *,
        ok: bool,
        tokens: int,
        now: float,
        rng: random.Random,
        itl_s: float | None = None,
        record_outcome: bool = True,
    ) -> None:
        """A request ended; `tokens` is the count given to `begin`. `ok` is the backend's verdict
        (False: connect error, 5xx, timeout, overload). `record_outcome=False` releases the load
        without judging the backend (the client went away). `rng` jitters the deadline of a
        breaker this verdict opens."""
        try:
            i = self.index.positions[backend_id]
        except KeyError:
            raise unknown_backend(backend_id) from None
        self.load.finish(i, tokens, now, itl_s)
        self.health.on_finish(i, ok=ok, now=now, rng=rng, record_outcome=record_outcome)

    def refresh(self, now: float) -> None:
        """Bring the fleet to `now` before a decision or a report: open breakers whose deadline
        passed turn half-open, and metrics stamped before `now` count as such."""
        self.load.decided_at(now)
        self.health.refresh(now)
