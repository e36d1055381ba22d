"""The records of one simulated client request and of each attempt to serve it on a backend."""

from __future__ import annotations

from fleetgate.limits.limiter import Admission
from fleetgate.limits.rulebook import AdmissionRequest, TenantLimits
from fleetgate.routing.policies import RouteRequest
from fleetgate.sim.group import ReplicaGroup
from fleetgate.sim.workload import RequestSpec


class ClientRequest:
    """One client request: admitted once, routed one or more times, settled once."""

    __slots__ = (
        "admission",
        "arrival",
        "attempts",
        "call",
        "client_tries",
        "demand",
        "excluded",
        "route",
        "tokens",
        "who",
    )

    def __init__(
        self, call: RequestSpec, who: TenantLimits, route: RouteRequest, arrival: float
    ) -> None:
        self.call = call
        self.who = who
        self.route = route
        self.tokens = route.tokens  # what the fleet state counts in flight, read on every end
        self.arrival = arrival
        self.demand: AdmissionRequest | None = None
        self.admission: Admission | None = None
        self.excluded: frozenset[str] = frozenset()
        self.attempts = 0
        self.client_tries = 0


class SimulatedAttempt:
    """One try of a request on one backend: when it was sent, its network leg, its engine."""

    __slots__ = (
        "backend_id",
        "cache_hit",
        "first_token_at",
        "group",
        "one_way",
        "replica",
        "request",
        "sent_at",
    )

    def __init__(
        self,
        request: ClientRequest,
        backend_id: str,
        group: ReplicaGroup,
        sent_at: float,
        one_way: float,
    ) -> None:
        self.request = request
        self.backend_id = backend_id
        self.group = group
        self.sent_at = sent_at
        self.one_way = one_way
        self.first_token_at: float | None = None
        self.replica = -1
        self.cache_hit = 0
