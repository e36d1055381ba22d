"""The one list of limit-store URIs the Limiter contract suite runs against.

The Redis helper appends its stores here (e.g. ``"redis"``, resolved to the session's
`redis_url` fixture by the contract suite) so every contract test runs against every store.
"""

from __future__ import annotations

STORE_URIS: list[str] = ["memory://", "redis"]
