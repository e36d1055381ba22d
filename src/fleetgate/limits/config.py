"""The `limits:` section of the fleet file: where limit state lives, plans and tiers."""

from __future__ import annotations

from typing import Literal

from fleetgate.config_types import Frozen


class LimitsSettings(Frozen):
    """Where limit state lives and how to behave when that store is down."""

    store: str = "memory://"
    on_store_error: Literal["open", "closed"] = "open"
