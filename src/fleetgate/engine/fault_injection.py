"""Fault injection of the simulated engine, changeable while it runs (`GET`/`POST /fault`).

`FaultState` holds the current `InjectedFaults`, draws error decisions from its own
`random.Random(seed)`, and lets hung requests wait until the hang is lifted or their client leaves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Mapping
from typing import Any

from fleetgate.engine.options import InjectedFaults
from fleetgate.errors import ConfigurationError, InvalidRequest

_FIELD_TYPES: Mapping[str, tuple[type, ...]] = {
    "error_rate": (int, float),
    "extra_latency_ms": (int, float),
    "hang": (bool,),
    "close_after_tokens": (int, type(None)),
    "unhealthy": (bool,),
}


class FaultState:
    """The faults of one engine; updates apply to requests that start afterwards."""

    def __init__(self, settings: InjectedFaults, seed: int) -> None:
        self._settings = settings
        self._rng = random.Random(seed)
        self._hang_lifted = asyncio.Event()
        if not settings.hang:
            self._hang_lifted.set()

    @property
    def settings(self) -> InjectedFaults:
        return self._settings

    def should_fail(self) -> bool:
        """Draw whether this request is answered with an injected 500."""
        rate = self._settings.error_rate
        return rate > 0 and self._rng.random() < rate

    async def wait_while_hanging(self) -> None:
        """Return at once unless the engine hangs; then wait until the hang is lifted."""
        while self._settings.hang:
            await self._hang_lifted.wait()

    def update(self, changes: Mapping[str, Any]) -> InjectedFaults:
        """Apply a `POST /fault` body; `seed` reseeds the random draws. Raises `InvalidRequest`."""
        fields = dict(changes)
        seed = fields.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidRequest("'seed' must be an integer", param="seed")
        for key, value in fields.items():
            allowed = _FIELD_TYPES.get(key)
            if allowed is None:
                known = ", ".join([*_FIELD_TYPES, "seed"])
                raise InvalidRequest(f"unknown fault {key!r}; known: {known}", param=key)
            if isinstance(value, bool) and bool not in allowed:
                raise InvalidRequest(f"'{key}' must be a number, got {value!r}", param=key)
            if not isinstance(value, allowed):
                raise InvalidRequest(f"'{key}' has the wrong type: {value!r}", param=key)
        try:
            settings = dataclasses.replace(self._settings, **fields)
        except ConfigurationError as exc:
            raise InvalidRequest(f"invalid fault settings: {exc.message}") from exc
        self._settings = settings
        if seed is not None:
            self._rng.seed(seed)
        if settings.hang:
            self._hang_lifted.clear()
        else:
            self._hang_lifted.set()
        return settings
